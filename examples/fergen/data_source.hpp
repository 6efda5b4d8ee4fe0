// The data sources every fergen subcommand reads: CASME II, an image folder or the procedural faces, with the
// options that choose and shape them, and the splits the tool offers.
#pragma once

#include <fergen/data/casme2.hpp>
#include <fergen/data/csv.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/data/image_folder.hpp>
#include <fergen/data/image_io.hpp>
#include <fergen/data/leakage.hpp>
#include <fergen/data/procedural_faces.hpp>
#include <fergen/data/resize.hpp>
#include <fergen/data/split.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fergen::tool {

struct dataset_arguments {
  std::string casme2, coding, folder, manifest, write, split, labels = "study7", frames = "onset-offset";
  bool procedural = false, report = false, skip_bad = false, stratified = false, casme_imbalance = false;
  std::int64_t size = 48, folds = 5, subjects = 10, clips_per_class = 1;
  double test_fraction = 0.2;
  std::uint64_t seed = 0, faces_seed = 2026;
  data::procedural_options faces;  // the rest of the procedural faces' options (a study preset sets them)
};

// Prints what a dataset holds: classes with their frame counts, subjects, clips.
inline void print_summary(const data::dataset& ds) {
  const auto counts = ds.class_counts();
  // An image folder without a manifest carries no ids: say so rather than count "" as one subject.
  auto known = [](const std::vector<std::string>& ids) {
    return std::count_if(ids.begin(), ids.end(), [](const std::string& id) { return !id.empty(); });
  };
  const auto subjects = known(ds.subjects()), clips = known(ds.clips());
  std::printf("%lld frames, %s, %lld classes\n", static_cast<long long>(ds.size()),
              subjects == 0 && clips == 0
                  ? "no subject or clip ids"
                  : str(subjects, " subjects, ", clips, " clips").c_str(),
              static_cast<long long>(ds.class_count()));
  for (std::int64_t c = 0; c < ds.class_count(); ++c)
    std::printf("  %-12s %7lld\n", ds.class_names()[static_cast<std::size_t>(c)].c_str(),
                static_cast<long long>(counts[static_cast<std::size_t>(c)]));
}

// An image folder with a manifest: DIR/<class>/<clip>_<frame>.png and DIR/manifest.csv (file, subject, clip,
// frame), which `fergen dataset --folder DIR --manifest DIR/manifest.csv` reads back with its ids.
inline void write_image_folder(const data::dataset& ds, const std::filesystem::path& dir) {
  data::csv_rows manifest{{"file", "subject", "clip", "frame"}};
  for (std::int64_t i = 0; i < ds.size(); ++i) {
    const data::sample& s = ds[i];
    std::string stem = s.clip.empty() ? "image" : s.clip;
    for (char& ch : stem)
      if (ch == '/' || ch == '\\') ch = '_';
    stem += "_" + std::to_string(s.frame >= 0 ? s.frame : i);
    const std::string file = ds.class_names()[static_cast<std::size_t>(s.label)] + "/" + stem + ".png";
    std::filesystem::create_directories(dir / ds.class_names()[static_cast<std::size_t>(s.label)]);
    data::write_png(dir / file, s.image);
    manifest.push_back({file, s.subject, s.clip, s.frame >= 0 ? std::to_string(s.frame) : ""});
  }
  data::write_csv(dir / "manifest.csv", manifest);
}

inline data::dataset load_source(const dataset_arguments& a) {
  const auto policy = a.skip_bad ? data::error_policy::skip_and_report : data::error_policy::fail;
  if (a.procedural) {
    data::procedural_options o = a.faces;
    o.subjects = a.subjects;
    o.clips_per_class = a.clips_per_class;
    o.casme_imbalance = a.casme_imbalance;
    o.seed = a.faces_seed;
    if (!a.write.empty()) {
      data::write_casme2_tree(o, a.write);
      std::printf("wrote the procedural faces as a CASME II tree: %s/Cropped and %s/coding.csv\n", a.write.c_str(),
                  a.write.c_str());
    }
    data::dataset ds = data::procedural_faces(o);
    if (a.size > 0)
      for (std::int64_t i = 0; i < ds.size(); ++i) ds[i].image = data::resize_bilinear(ds[i].image, a.size, a.size);
    return ds;
  }
  if (!a.casme2.empty()) {
    data::casme2_options o;
    o.root = a.casme2;
    o.sheet = a.coding;
    o.frames = a.frames == "apex" ? data::casme2_frames::apex_only : data::casme2_frames::onset_to_offset;
    o.labels = a.labels == "five" ? data::casme2_labels::five_class
               : a.labels == "megc3" ? data::casme2_labels::megc3
                                     : data::casme2_labels::study7;
    o.height = o.width = a.size;
    o.on_error = policy;
    data::casme2_report report;
    data::dataset ds = data::load_casme2(o, &report);
    if (a.report) {
      std::printf("%s\n", report.text().c_str());
    } else {
      std::printf("CASME II frames from %s\n", report.frames_folder.c_str());
    }
    return ds;
  }
  data::image_folder_options o;
  o.root = a.folder;
  o.manifest = a.manifest;
  o.color = data::color_mode::gray;
  o.height = o.width = a.size;
  o.on_error = policy;
  data::image_folder_report report;
  data::dataset ds = data::load_image_folder(o, &report);
  if (a.report) std::printf("%s\n", report.text().c_str());
  return ds;
}

// A dataset loaded elsewhere (a synthetic folder, a held-out set) with its classes put in the real set's order. A
// class the real set lacks is an error naming `what` (the option and its value): there would be nothing to test
// it against.
inline data::dataset relabelled_like(const data::dataset& given, const data::dataset& real, const std::string& what) {
  std::string known;
  for (const auto& n : real.class_names()) known += (known.empty() ? "" : ", ") + n;
  for (const auto& n : given.class_names()) {
    bool found = false;
    for (const auto& m : real.class_names()) found = found || m == n;
    require(found, what, ": class '", n, "' is not a class of the real data (", known, ")");
  }
  data::dataset out(real.class_names());
  for (const auto& s : given) {
    data::sample copy = s;
    copy.label = real.label_of(given.class_names()[static_cast<std::size_t>(s.label)]);
    out.add(std::move(copy));
  }
  return out;
}

// Synthetic images made elsewhere (`fergen generate --out`: FOLDER/<class>/*.png, its manifest.csv beside the class
// folders is not read), gray, at size x size (0 keeps the files' size), in the real set's class order.
inline data::dataset load_synthetic_folder(const std::string& folder, const data::dataset& real, std::int64_t size) {
  data::image_folder_options o;
  o.root = folder;
  o.color = data::color_mode::gray;
  o.height = o.width = size;
  return relabelled_like(data::load_image_folder(o), real, "--synthetic " + folder);
}

// The options that choose a data source and shape its frames, shared by every subcommand that reads data.
// folder_aliases: other names of --folder in this command ("--real"), so that --manifest, which needs the
// folder, works with them too.
inline void add_source_options(CLI::App* cmd, dataset_arguments& a, const std::string& folder_aliases = "") {
  auto* casme2 = cmd->add_option("--casme2", a.casme2,
                                 "CASME II root (holding Cropped or CASME2_RAW_selected; Cropped when both) or the "
                                 "frames folder itself (holding sub01, ...)")
                     ->check(CLI::ExistingDirectory);
  auto* coding = cmd->add_option("--coding", a.coding, "CASME II coding sheet (.xlsx or a .csv export)")
                     ->check(CLI::ExistingFile);
  casme2->needs(coding);
  coding->needs(casme2);
  // The alias first: CLI11 names an option by its first long name in its messages ("--real: Directory does not
  // exist"), and a command's alias is what its users type.
  auto* folder = cmd->add_option(folder_aliases.empty() ? std::string("--folder") : folder_aliases + ",--folder",
                                 a.folder, "Image folder: ROOT/<class>/*.png|jpg")
                     ->check(CLI::ExistingDirectory);
  cmd->add_option("--manifest", a.manifest,
                  "With " + (folder_aliases.empty() ? std::string("--folder") : folder_aliases) +
                      ": CSV with columns file, subject, clip[, frame]")
      ->check(CLI::ExistingFile)
      ->needs(folder);
  auto* procedural = cmd->add_flag("--procedural", a.procedural, "The built-in procedural faces (no download)");
  casme2->excludes(folder, procedural);
  folder->excludes(procedural);
  cmd->add_option("--subjects", a.subjects, "With --procedural: number of subjects")->capture_default_str();
  cmd->add_option("--clips-per-class", a.clips_per_class, "With --procedural: clips per subject and class")
      ->capture_default_str();
  cmd->add_flag("--casme-imbalance", a.casme_imbalance, "With --procedural: class sizes shaped like CASME II's");
  cmd->add_option("--faces-seed", a.faces_seed, "With --procedural: the generator's seed")->capture_default_str();
  cmd->add_option("--labels", a.labels, "CASME II label set: study7, five (5-class), megc3 (MEGC 2019)")
      ->check(CLI::IsMember({"study7", "five", "megc3"}))
      ->capture_default_str();
  cmd->add_option("--frames", a.frames, "CASME II frames: onset-offset (the study) or apex")
      ->check(CLI::IsMember({"onset-offset", "apex"}))
      ->capture_default_str();
  cmd->add_option("--size", a.size, "Resize every frame to SIZE x SIZE (0 keeps the files' size)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--skip-bad", a.skip_bad, "Skip unreadable files and bad sheet rows, and report them");
  cmd->add_flag("--report", a.report, "Print the loader's full report (skips, resolved quirks)");
}

// A command that needs data says so, naming itself, when no source was given.
inline void require_source(const dataset_arguments& a, const char* command) {
  if (a.casme2.empty() && a.folder.empty() && !a.procedural)
    fail(command, ": give a source: --casme2 ROOT --coding SHEET, --folder ROOT or --procedural");
}

inline std::vector<data::split> make_splits(const data::dataset& ds, const dataset_arguments& a) {
  if (a.split == "random") return {data::random_split(ds, a.test_fraction, a.seed, a.stratified)};
  if (a.split == "clip") return {data::clip_split(ds, a.test_fraction, a.seed, a.stratified)};
  if (a.split == "loso") return data::leave_one_subject_out(ds);
  return data::subject_kfold(ds, a.folds, a.seed, a.stratified);
}

}  // namespace fergen::tool
