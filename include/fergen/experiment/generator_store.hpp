// fergen/experiment/generator_store.hpp: a folder of a study's trained generators (each one's synthetic set,
// record, quality rows and sample grid), so that a generator is trained once and read wherever it is needed: by
// the other shards of a run, when they share the folder, and by the same run restarted. The set is kept in
// float32 (images.npz) as the generator made it, so a set read back is the set trained, bit for bit.
//
// A generator is published whole: written into a temporary folder that is renamed to its name. While one process
// trains it, a claim file (<name>.claim: host and process id) keeps the others waiting for it instead of training it
// too; the holder refreshes the claim every 30 s, and a claim whose process is gone (on this host: no such
// process; on another: no refresh for 10 minutes) is taken over, so a killed shard never blocks the run.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/core/npz.hpp>
#include <fergen/data/dataset.hpp>
#include <fergen/diffusion/generate.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_generators.hpp>
#include <fergen/experiment/study_manifest.hpp>

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <csignal>
#include <cerrno>
#include <unistd.h>
#endif

FERGEN_BEGIN_NAMESPACE
namespace experiment {

namespace detail {

inline std::string host_name() {
#if defined(__unix__) || defined(__APPLE__)
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) return name;
#endif
  return "unknown-host";
}

inline long process_id() {
#if defined(__unix__) || defined(__APPLE__)
  return static_cast<long>(::getpid());
#else
  return 0;
#endif
}

// Whether process `pid` of this host is running (a process we may not signal is running too).
inline bool process_alive(long pid) {
#if defined(__unix__) || defined(__APPLE__)
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
#else
  (void)pid;
  return true;
#endif
}

}  // namespace detail

class generator_store {
 public:
  // How long a claim may go without a refresh before another host takes it over, and how often it is refreshed.
  static constexpr std::chrono::seconds claim_timeout{600};
  static constexpr std::chrono::seconds claim_refresh{30};

  // `identity`: the plan's (study_manifest.hpp); a folder holding another plan's generators is refused, naming the
  // first difference, since its sets would silently stand in for this plan's.
  generator_store(std::filesystem::path dir, const std::string& identity) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::filesystem::path plan = dir_ / "plan.txt";
    if (!std::filesystem::exists(plan)) {
      try {
        fergen::detail::write_atomically(plan, identity);  // two processes may race here; both write the same text
      } catch (const error&) {
        require(std::filesystem::exists(plan), "generator folder ", dir_.string(), ": cannot write plan.txt");
      }
    }
    const std::string held = fergen::detail::read_text(plan).value_or("");
    if (held != identity) {
      auto entries = [&](const std::string& text) {
        const key_value_map m = parse_key_value_text(text, (dir_ / "plan.txt").string());
        return key_value_list(m.begin(), m.end());
      };
      fail("generator folder ", dir_.string(), " holds the generators of another plan (",
           identity_difference(entries(held), entries(identity), "the folder", "this run"),
           "); give another --generators folder");
    }
  }

  const std::filesystem::path& dir() const { return dir_; }

  // The generator, if it was published; its set carries the class names given.
  std::optional<trained_generator> load(const std::string& name, const std::vector<std::string>& class_names) const {
    const std::filesystem::path folder = dir_ / name;
    if (!std::filesystem::is_directory(folder)) return std::nullopt;
    const study_results r = read_results_json(folder / "generator.json");
    require(r.generators.size() == 1, folder.string(), "/generator.json: holds ", r.generators.size(),
            " generators, not 1");
    require(r.class_names == class_names, folder.string(), ": its classes differ from the real frames'");
    trained_generator g;
    g.record = r.generators.front();
    g.quality = r.quality;
    const npz_archive a = read_npz(folder / "images.npz");
    auto member = [&](const char* key) -> const npy_array& {
      const auto it = a.find(key);
      require(it != a.end(), folder.string(), "/images.npz: no '", key, "' array");
      return it->second;
    };
    const npy_array& images = member("images");
    require(images.shape.size() == 4, folder.string(), "/images.npz: images are not N x C x H x W");
    const std::vector<float> pixels = images.values<float>();
    const std::vector<std::int64_t> labels = member("labels").values<std::int64_t>(),
                                    frames = member("frames").values<std::int64_t>();
    const std::int64_t n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
    require(static_cast<std::int64_t>(labels.size()) == n && static_cast<std::int64_t>(frames.size()) == n,
            folder.string(), "/images.npz: ", n, " images but ", labels.size(), " labels and ", frames.size(), " frames");
    auto set = std::make_shared<data::dataset>(class_names);
    for (std::int64_t i = 0; i < n; ++i) {
      data::sample s;
      s.image = data::image(c, h, w);
      std::copy_n(pixels.begin() + i * c * h * w, c * h * w, s.image.pixels.begin());
      s.label = labels[static_cast<std::size_t>(i)];
      require(s.label >= 0 && s.label < static_cast<std::int64_t>(class_names.size()), folder.string(),
              "/images.npz: label ", s.label, " is not a class");
      s.frame = frames[static_cast<std::size_t>(i)];
      s.source = diffusion::generated_file(class_names[static_cast<std::size_t>(s.label)], s.frame);
      set->add(std::move(s));
    }
    g.images = std::move(set);
    if (std::filesystem::exists(folder / "samples.png")) {
      const std::vector<std::byte> png = fergen::detail::read_file(folder / "samples.png");
      g.sample_grid_png = png;
    }
    return g;
  }

  // Writes the generator into a temporary folder and renames it to its name: readers see all of it or nothing.
  void publish(const std::string& name, const trained_generator& g, const std::vector<std::string>& class_names) const {
    const std::filesystem::path partial = dir_ / str(".", name, ".partial-", detail::host_name(), "-", detail::process_id());
    std::filesystem::remove_all(partial);
    std::filesystem::create_directories(partial);
    study_results r;
    r.class_names = class_names;
    r.generators = {g.record};
    r.quality = g.quality;
    write_results_json(partial / "generator.json", r);
    const data::dataset& set = *g.images;
    require(!set.empty(), "generator folder: the generator ", name, " made no image");
    const data::image& first = set[0].image;
    std::vector<float> pixels;
    std::vector<std::int64_t> labels, frames;
    pixels.reserve(static_cast<std::size_t>(set.size() * first.size()));
    for (const auto& s : set) {
      require(s.image.channels == first.channels && s.image.height == first.height && s.image.width == first.width,
              "generator folder: the images of ", name, " differ in size");
      pixels.insert(pixels.end(), s.image.pixels.begin(), s.image.pixels.end());
      labels.push_back(s.label);
      frames.push_back(s.frame);
    }
    write_npz(partial / "images.npz",
              {{"images", make_npy(pixels, {set.size(), first.channels, first.height, first.width})},
               {"labels", make_npy(labels, {set.size()})},
               {"frames", make_npy(frames, {set.size()})}},
              npz_compression::stored);
    if (!g.sample_grid_png.empty()) fergen::detail::write_atomically(partial / "samples.png", g.sample_grid_png);
    std::error_code ec;
    std::filesystem::rename(partial, dir_ / name, ec);
    if (ec && !std::filesystem::is_directory(dir_ / name))
      fail("generator folder: cannot publish ", (dir_ / name).string(), ": ", ec.message());
    std::filesystem::remove_all(partial, ec);  // left only when another process published it first
  }

  // A claim held: removed when destroyed; a thread refreshes it meanwhile.
  class claim {
   public:
    explicit claim(std::filesystem::path file) : file_(std::move(file)), refresher_([this] { refresh(); }) {}
    claim(const claim&) = delete;
    claim& operator=(const claim&) = delete;
    ~claim() {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = true;
      }
      wake_.notify_all();
      refresher_.join();
      std::error_code ignored;
      std::filesystem::remove(file_, ignored);
    }

   private:
    void refresh() {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!wake_.wait_for(lock, claim_refresh, [this] { return done_; })) {
        std::error_code ignored;
        std::filesystem::last_write_time(file_, std::filesystem::file_time_type::clock::now(), ignored);
      }
    }
    std::filesystem::path file_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool done_ = false;
    std::thread refresher_;
  };

  // Claims the generator for training, or returns null when a live process holds it (a stale claim is removed).
  std::unique_ptr<claim> try_claim(const std::string& name) const {
    const std::filesystem::path file = dir_ / (name + ".claim");
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (std::FILE* f = std::fopen(file.string().c_str(), "wx")) {  // created only if absent: one holder
        std::fprintf(f, "%s\n%ld\n", detail::host_name().c_str(), detail::process_id());
        std::fclose(f);
        return std::make_unique<claim>(file);
      }
      if (!stale(file)) return nullptr;
      std::error_code ignored;
      std::filesystem::remove(file, ignored);
    }
    return nullptr;
  }

  // Who holds the claim, in words.
  std::string claim_holder(const std::string& name) const {
    const auto [host, pid] = holder(dir_ / (name + ".claim"));
    return str("process ", pid, " on ", host);
  }

 private:
  static std::pair<std::string, long> holder(const std::filesystem::path& file) {
    std::istringstream in(fergen::detail::read_text(file).value_or(""));
    std::string host;
    long pid = 0;
    in >> host >> pid;
    return {host, pid};
  }

  static bool stale(const std::filesystem::path& file) {
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(file, ec);
    if (ec) return false;  // gone meanwhile: try again
    const auto [host, pid] = holder(file);
    if (host == detail::host_name() && !detail::process_alive(pid)) return true;
    return std::filesystem::file_time_type::clock::now() - written > claim_timeout;
  }

  std::filesystem::path dir_;
};

}  // namespace experiment
FERGEN_END_NAMESPACE
