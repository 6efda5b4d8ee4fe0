// 03_procedural_faces: the built-in face dataset, what it is made of, and a picture of it.
//
// fergen needs no download to run its study end to end: data/procedural_faces.hpp draws a CASME II-shaped
// micro-expression dataset from a parametric face. This program
//   1. explains the generator (identities, action units, clips, camera),
//   2. builds the default dataset and says how long that took,
//   3. writes a grid of apex frames, one row per class and one column per subject, where the seven classes
//      should be told apart at a glance (the project's acceptance check for the face model), and
//   4. writes a strip of one clip from onset through apex to offset.
//
//   03_procedural_faces [--out grid.png] [--strip clip.png] [--subjects N] [--seed S] [--amplitude A]
//
// By default it writes docs/procedural_faces_apex.png and, next to it, procedural_faces_clip.png (run it from
// the repository root to refresh the pictures in docs/).
#include <fergen/data/image_io.hpp>
#include <fergen/data/procedural_faces.hpp>
#include <fergen/data/resize.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace data = fergen::data;

namespace {

// Pastes `tile` into `canvas` with its top-left corner at (x, y).
void paste(data::image& canvas, const data::image& tile, std::int64_t x, std::int64_t y) {
  for (std::int64_t r = 0; r < tile.height; ++r)
    for (std::int64_t c = 0; c < tile.width; ++c) canvas.at(0, y + r, x + c) = tile.at(0, r, c);
}

// A 3 x 5 pixel font, just the capitals the class names need: enough to label the grid's rows without a
// font library.
const char* glyph(char c) {
  switch (c) {
    case 'A': return ".#.#.#####.##.#";
    case 'D': return "##.#.##.##.###.";
    case 'E': return "####..##.#..###";
    case 'F': return "####..##.#..#..";
    case 'G': return ".###..#.##.#.##";
    case 'H': return "#.##.#####.##.#";
    case 'I': return "###.#..#..#.###";
    case 'N': return "##.#.##.##.##.#";
    case 'O': return ".#.#.##.##.#.#.";
    case 'P': return "##.#.###.#..#..";
    case 'R': return "##.#.###.#.##.#";
    case 'S': return ".###...#...###.";
    case 'T': return "###.#..#..#..#.";
    case 'U': return "#.##.##.##.####";
    default: return "...............";
  }
}

// Writes text with its top-left corner at (x, y), each font pixel a scale x scale square.
void draw_text(data::image& canvas, std::int64_t x, std::int64_t y, const std::string& text, std::int64_t scale, float tone) {
  for (std::size_t k = 0; k < text.size(); ++k) {
    const std::string bits = glyph(static_cast<char>(std::toupper(static_cast<unsigned char>(text[k]))));
    for (std::int64_t i = 0; i < 15 && i < static_cast<std::int64_t>(bits.size()); ++i)
      if (bits[static_cast<std::size_t>(i)] == '#')
        for (std::int64_t dy = 0; dy < scale; ++dy)
          for (std::int64_t dx = 0; dx < scale; ++dx) {
            const std::int64_t px = x + static_cast<std::int64_t>(k) * 4 * scale + (i % 3) * scale + dx;
            const std::int64_t py = y + (i / 3) * scale + dy;
            if (px < canvas.width && py < canvas.height) canvas.at(0, py, px) = tone;
          }
  }
}

// Frames laid out in rows and columns, each scaled up `zoom` times (nearest, so pixels stay visible), with a
// `gap`-pixel white border between them and an optional label left of each row.
data::image mosaic(const std::vector<std::vector<data::image>>& rows, std::int64_t zoom, std::int64_t gap,
                   const std::vector<std::string>& labels = {}) {
  const std::int64_t tile = rows.at(0).at(0).width * zoom;
  std::int64_t columns = 0, margin = 0;
  for (const auto& row : rows) columns = std::max<std::int64_t>(columns, static_cast<std::int64_t>(row.size()));
  for (const auto& label : labels) margin = std::max<std::int64_t>(margin, static_cast<std::int64_t>(label.size()) * 8 + 6);
  const auto count = static_cast<std::int64_t>(rows.size());
  data::image canvas(1, count * tile + (count + 1) * gap, margin + columns * tile + (columns + 1) * gap, 255.0f);
  for (std::int64_t r = 0; r < count; ++r) {
    if (static_cast<std::size_t>(r) < labels.size())
      draw_text(canvas, 4, gap + r * (tile + gap) + tile / 2 - 5, labels[static_cast<std::size_t>(r)], 2, 0.0f);
    for (std::size_t c = 0; c < rows[static_cast<std::size_t>(r)].size(); ++c)
      paste(canvas, data::resize_nearest(rows[static_cast<std::size_t>(r)][c], tile, tile),
            margin + gap + static_cast<std::int64_t>(c) * (tile + gap), gap + r * (tile + gap));
  }
  return canvas;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out = "docs/procedural_faces_apex.png", strip_out;
  data::procedural_options options;
  std::int64_t columns = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--out") out = argv[i + 1];
    else if (flag == "--strip") strip_out = argv[i + 1];
    else if (flag == "--subjects") columns = std::stoll(argv[i + 1]);
    else if (flag == "--seed") options.seed = std::stoull(argv[i + 1]);
    else if (flag == "--amplitude") options.amplitude = std::stod(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--out grid.png] [--strip clip.png] [--subjects N] [--seed S] [--amplitude A]\n", argv[0]);
      return 2;
    }
  }
  if (strip_out.empty()) strip_out = (std::filesystem::path(out).parent_path() / "procedural_faces_clip.png").string();

  try {
    std::printf("fergen %s: procedural faces, a CASME II-shaped dataset drawn from a seed (%llu)\n\n", FERGEN_VERSION_STRING,
                static_cast<unsigned long long>(options.seed));
    std::printf("Each subject is a face identity drawn from the seed: head shape, eye spacing and size, brows, nose,\n"
                "mouth, skin, hair and background tones, hair style, sometimes glasses or a mole.\n"
                "Each class is a mix of FACS action units, each a continuous deformation of the face:\n");
    const auto& classes = data::study_classes();
    for (std::int64_t c = 0; c < data::study_class_count; ++c) {
      const data::action_units prototype = data::expression(c, 1.0);
      std::printf("  row %lld  %-10s AU %-12s", static_cast<long long>(c + 1), classes[static_cast<std::size_t>(c)].c_str(),
                  data::facs_code(prototype).c_str());
      std::string names;
      for (int a = 0; a < data::action_unit_count; ++a)
        if (prototype.mean(static_cast<data::action_unit>(a)) > 0)
          names += std::string(names.empty() ? "" : ", ") + data::facs_names[static_cast<std::size_t>(a)];
      std::printf(" (%s)%s\n", names.c_str(), c == 6 ? "; or 45, L/R12, L/R2 per clip" : "");
    }
    std::printf("A clip runs from onset to offset (%lld-%lld frames); the expression rises as a raised cosine to the\n"
                "apex (amplitude %.2f, each unit at 80-100%% of it per clip) and falls back to neutral. The head drifts\n"
                "by under a pixel and a degree; the camera adds Gaussian noise (sigma %.1f gray levels).\n\n",
                static_cast<long long>(options.min_frames), static_cast<long long>(options.max_frames), options.amplitude,
                options.noise);

    // The default dataset, timed: it is what `fergen demo` and the tests start from.
    const auto start = std::chrono::steady_clock::now();
    const data::dataset faces = data::procedural_faces(options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("default dataset: %lld subjects, %lld clips, %lld frames of %lld x %lld in %.3f s (%d threads)\n",
                static_cast<long long>(faces.subjects().size()), static_cast<long long>(faces.clips().size()),
                static_cast<long long>(faces.size()), static_cast<long long>(options.size),
                static_cast<long long>(options.size), seconds, fergen::thread_count());
    const auto counts = faces.class_counts();
    std::printf("frames per class:");
    for (std::size_t c = 0; c < counts.size(); ++c) std::printf(" %s %lld", classes[c].c_str(), static_cast<long long>(counts[c]));
    std::printf("\n\n");

    // The grid: the apex frame of each subject's clip of each class.
    data::procedural_options grid_options = options;
    grid_options.subjects = columns;
    const auto clips = data::plan_clips(grid_options);
    std::vector<std::vector<data::image>> rows(static_cast<std::size_t>(data::study_class_count));
    for (const auto& clip : clips) {
      const data::face_identity who = data::draw_identity(grid_options.seed, clip.subject);
      rows[static_cast<std::size_t>(clip.label)].push_back(data::render_frame(grid_options, who, clip, clip.apex));
    }
    data::write_png(out, mosaic(rows, 2, 4, classes));
    std::printf("wrote %s: apex frames, one row per class in the order above (row 1 happiness ... row 7 others,\n"
                "named on the left), one column per subject (sub01 .. sub%02lld), scaled 2x\n",
                out.c_str(), static_cast<long long>(columns));

    // The strip: one clip, every frame, onset to offset.
    // sub01's surprise: the largest movement of the seven.
    const data::clip_spec& clip = *std::find_if(clips.begin(), clips.end(), [](const auto& c) { return c.label == 2; });
    const data::face_identity who = data::draw_identity(grid_options.seed, clip.subject);
    std::vector<std::vector<data::image>> strip(1);
    std::printf("wrote %s: %s (%s, AU %s), frames %lld (onset) .. %lld (apex) .. %lld (offset); intensity:",
                strip_out.c_str(), clip.path().c_str(), classes[static_cast<std::size_t>(clip.label)].c_str(),
                data::facs_code(clip.coded).c_str(), static_cast<long long>(clip.onset), static_cast<long long>(clip.apex),
                static_cast<long long>(clip.offset));
    for (std::int64_t f = clip.onset; f <= clip.offset; ++f) {
      strip[0].push_back(data::render_frame(grid_options, who, clip, f));
      std::printf(" %.2f", data::intensity_at(clip, f));
    }
    std::printf("\n");
    data::write_png(strip_out, mosaic(strip, 2, 4));
  } catch (const fergen::error& e) {
    std::fprintf(stderr, "03_procedural_faces: %s\n", e.what());
    return 1;
  }
  return 0;
}
