// fergen judge: a quick judge of one synthetic set without the whole study: one classifier trained on real frames
// and one trained on the synthetic images, both tested on the same real frames (the CAS ratio, overall and per
// class), and the synthetic set's FID, KID, manifold precision/recall and memorisation against the real frames.
// The protocol (random 80/20, loso, or a held-out real set with --test) is named on every number it prints.
#include "commands.hpp"
#include "data_source.hpp"
#include "judge_run.hpp"

#include <fergen/config.hpp>
#include <fergen/core/error.hpp>
#include <fergen/core/parallel.hpp>
#include <fergen/experiment/judge.hpp>
#include <fergen/experiment/judge_json.hpp>
#include <fergen/experiment/study_presets.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace fergen::tool {
namespace {

struct judge_arguments {
  dataset_arguments source, test;  // the real frames; the held-out real set (--test ...)
  std::string synthetic, protocol = "random", json;
  experiment::judge_classifier_options classifier;
  double test_fraction = 0.2;
  std::uint64_t seed = 0;
};

// The judge's defaults: the demo preset's classifier (experiment/study_presets.hpp: its settings, and each
// backbone's tuning of them, were chosen by measuring; docs/generator_recipes.md) with the small ResNet-50, the
// quickest of the three and the most accurate on subjects it has not seen.
experiment::judge_classifier_options default_classifier() {
  experiment::judge_classifier_options o;
  o.backbone = "resnet50";
  o.classifier = experiment::study_presets::demo().classifier;
  o.classifier.in_channels = 1;
  return o;
}

// The held-out real set's sources: the data-source options of every command under --test names. The frames are
// shaped (size, labels, frames, skipping) as the real set's.
void add_test_source_options(CLI::App* cmd, dataset_arguments& t) {
  auto* folder = cmd->add_option("--test", t.folder,
                                 "Held-out real frames, an image folder ROOT/<class>/*.png: the real-trained classifier "
                                 "learns every frame of the real set, both are tested here (protocol held-out)")
                     ->check(CLI::ExistingDirectory);
  cmd->add_option("--test-manifest", t.manifest, "With --test: CSV with columns file, subject, clip[, frame]")
      ->check(CLI::ExistingFile)
      ->needs(folder);
  auto* casme2 = cmd->add_option("--test-casme2", t.casme2, "Held-out real frames: a CASME II tree")
                     ->check(CLI::ExistingDirectory);
  auto* coding = cmd->add_option("--test-coding", t.coding, "With --test-casme2: its coding sheet")->check(CLI::ExistingFile);
  casme2->needs(coding);
  coding->needs(casme2);
  auto* procedural = cmd->add_flag("--test-procedural", t.procedural,
                                   "Held-out real frames: procedural faces (give --test-faces-seed other than the real "
                                   "set's for other identities)");
  cmd->add_option("--test-subjects", t.subjects, "With --test-procedural: number of subjects")->capture_default_str();
  cmd->add_option("--test-clips-per-class", t.clips_per_class, "With --test-procedural: clips per subject and class")
      ->capture_default_str();
  t.faces_seed = 7;
  cmd->add_option("--test-faces-seed", t.faces_seed, "With --test-procedural: the faces' seed")->capture_default_str();
  folder->excludes(casme2, procedural);
  casme2->excludes(procedural);
}

bool held_out_given(const dataset_arguments& t) { return !t.folder.empty() || !t.casme2.empty() || t.procedural; }

std::string describe_source(const dataset_arguments& s) {
  if (s.procedural)
    return str("the procedural faces (", s.subjects, " subjects, ", s.clips_per_class, " clip(s) per class, seed ",
               s.faces_seed, ")");
  if (!s.casme2.empty()) return str("CASME II at ", s.casme2, " (", s.labels, " labels, ", s.frames, " frames)");
  return str("the image folder ", s.folder, s.manifest.empty() ? std::string() : " with manifest " + s.manifest);
}

std::string percent(double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100.0 * fraction);
  return b;
}
std::string fixed(const std::optional<double>& v, int decimals) {
  if (!v) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, *v);
  return b;
}

void print_result(const experiment::judge_result& r, const std::string& real_source) {
  const std::string p = "[" + r.protocol + "] ";
  std::printf("\n== fergen judge, protocol %s: %s\n", r.protocol.c_str(), r.protocol_description.c_str());
  std::printf("%stested on %s\n", p.c_str(), r.test_frames.c_str());
  const std::string real_classifiers =
      r.real_trained.classifiers == 1
          ? str("1 classifier, ", r.real_trained.train_images, " training frames of ", real_source)
          : str(r.real_trained.classifiers, " classifiers, one per fold, ", r.real_trained.train_images,
                " training frames of ", real_source, " summed over folds");
  std::printf("%sreal-trained:      accuracy %s, UF1 %.3f, UAR %.3f (%s)\n", p.c_str(),
              percent(r.real_trained.accuracy).c_str(), r.real_trained.uf1, r.real_trained.uar,
              real_classifiers.c_str());
  std::printf("%ssynthetic-trained: accuracy %s, UF1 %.3f, UAR %.3f (1 classifier, %lld synthetic images)\n", p.c_str(),
              percent(r.synthetic_trained.accuracy).c_str(), r.synthetic_trained.uf1, r.synthetic_trained.uar,
              static_cast<long long>(r.synthetic_trained.train_images));
  std::printf("%sCAS ratio (synthetic-trained / real-trained accuracy on the same real frames): %s\n", p.c_str(),
              fixed(r.cas_ratio, 2).c_str());
  for (const auto& f : r.folds)
    std::printf("%sfold %s: %lld test frames, real-trained %s, synthetic-trained %s\n", p.c_str(), f.name.c_str(),
                static_cast<long long>(f.test_images), percent(f.real_trained_accuracy).c_str(),
                percent(f.synthetic_trained_accuracy).c_str());
  std::printf("%sper class, recall on the real test frames:\n", p.c_str());
  std::printf("%s  %-12s %11s %13s %18s %10s\n", p.c_str(), "class", "test frames", "real-trained", "synthetic-trained",
              "CAS ratio");
  for (const auto& k : r.cas_per_class) {
    auto recall = [](const std::optional<double>& v) { return v ? percent(*v) : std::string("n/a"); };
    std::printf("%s  %-12s %11lld %13s %18s %10s\n", p.c_str(), k.class_name.c_str(),
                static_cast<long long>(k.test_images), recall(k.real_trained_recall).c_str(),
                recall(k.synthetic_trained_recall).c_str(), fixed(k.ratio, 2).c_str());
  }
  if (!r.quality.empty()) {
    std::printf("%squality of the synthetic set against %s; FID, KID, precision and recall (k-NN manifolds, k = 3) in "
                "the %s (not ImageNet-Inception space); memorised: share of synthetic images whose nearest real frame "
                "(gray pixels) is closer than 1/3 of the nearest frame of another clip\n",
                p.c_str(), r.quality_against.c_str(), r.quality.front().feature_space.c_str());
    std::printf("%s  %-12s %6s %9s %10s %20s %9s %7s %9s\n", p.c_str(), "class", "real", "synthetic", "FID",
                "KID x 1000", "precision", "recall", "memorised");
    for (const auto& q : r.quality) {
      const std::string kid = q.kid_mean ? fixed(*q.kid_mean * 1000, 2) + " +- " + fixed(q.kid_std.value_or(0) * 1000, 2)
                                         : std::string("n/a");
      std::printf("%s  %-12s %6lld %9lld %10s %20s %9s %7s %9s\n", p.c_str(), q.class_name.c_str(),
                  static_cast<long long>(q.real_images), static_cast<long long>(q.synthetic_images),
                  fixed(q.fid, 2).c_str(), kid.c_str(), fixed(q.precision, 3).c_str(), fixed(q.recall, 3).c_str(),
                  q.memorization_rate ? percent(*q.memorization_rate).c_str() : "n/a");
    }
  }
  for (const auto& w : r.warnings) std::printf("%swarning: %s\n", p.c_str(), w.c_str());
}

int run_judge_command(judge_arguments& a) {
  const auto start = std::chrono::steady_clock::now();
  // Names and sizes first, before any data is read.
  const bool held_out = held_out_given(a.test);
  experiment::judge_plan plan;
  plan.protocol = held_out ? experiment::judge_protocol::held_out : experiment::parse_judge_protocol(a.protocol);
  plan.test_fraction = a.test_fraction;
  plan.seed = a.seed;
  experiment::check_judge_classifier(a.classifier);
  require_source(a.source, "judge");

  const data::dataset real = load_source(a.source);
  std::printf("fergen judge: protocol %s: %s\n", std::string(experiment::name(plan.protocol)).c_str(),
              std::string(experiment::describe(plan.protocol)).c_str());
  std::printf("real: %s: ", describe_source(a.source).c_str());
  print_summary(real);
  const data::dataset synthetic = load_synthetic_folder(a.synthetic, real, a.source.size);
  std::printf("synthetic: %s: ", a.synthetic.c_str());
  print_summary(synthetic);
  std::optional<data::dataset> test;
  if (held_out) {
    dataset_arguments t = a.test;  // shaped as the real frames
    t.size = a.source.size;
    t.labels = a.source.labels;
    t.frames = a.source.frames;
    t.skip_bad = a.source.skip_bad;
    t.faces = a.source.faces;
    test = relabelled_like(load_source(t), real, "--test " + describe_source(t));
    std::printf("held-out real: %s: ", describe_source(t).c_str());
    print_summary(*test);
  }
  experiment::check_judge_inputs(real, synthetic, test ? &*test : nullptr, plan);

  const auto input = experiment::judge_input_size(a.classifier);
  const auto& c = a.classifier.classifier;
  std::printf("classifier: %s (%s) at %lldx%lld, gray, %s lr %g (%s, warm-up %g epoch), %lld epochs of batch %lld, seed "
              "%llu; the same recipe and initial weights on both sides; %d thread(s)\n",
              a.classifier.backbone.c_str(), c.size.c_str(), static_cast<long long>(input),
              static_cast<long long>(input), c.optimizer.c_str(), c.lr, c.schedule.c_str(), c.warmup_epochs,
              static_cast<long long>(c.epochs), static_cast<long long>(c.batch),
              static_cast<unsigned long long>(a.seed), thread_count());
  auto log = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  const experiment::judge_result r =
      experiment::run_judge(real, synthetic, test ? &*test : nullptr, plan, make_cpu_judge_services(a.classifier, log));
  print_result(r, "the real set");
  if (!a.json.empty()) {
    experiment::judge_setup setup;
    setup.fergen_version = FERGEN_VERSION_STRING;
    setup.real_source = describe_source(a.source);
    setup.synthetic_source = "the image folder " + a.synthetic;
    if (held_out) setup.test_source = describe_source(a.test);
    setup.backbone = a.classifier.backbone;
    setup.classifier = c;
    setup.input_size = input;
    setup.seed = a.seed;
    setup.test_fraction = a.test_fraction;
    experiment::write_judge_json(a.json, r, setup);
    std::printf("wrote %s\n", a.json.c_str());
  }
  std::printf("judged in %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

}  // namespace

void add_judge_command(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<judge_arguments>();
  a->classifier = default_classifier();
  CLI::App* cmd = app.add_subcommand(
      "judge",
      "Judge one synthetic set quickly: a classifier trained on real frames and one trained on the synthetic images, "
      "both tested on the same real frames (the CAS ratio, overall and per class), with FID, KID, precision/recall "
      "and memorisation; under random 80/20, loso, or a held-out real set (--test)");
  add_source_options(cmd, a->source, "--real");
  cmd->add_option("--synthetic", a->synthetic,
                  "Synthetic images, an image folder DIR/<class>/*.png (`fergen generate --out DIR`); gray or RGB "
                  "(read as gray), resized to the real frames' --size")
      ->check(CLI::ExistingDirectory)
      ->required();
  auto* protocol = cmd->add_option("--protocol", a->protocol,
                                   "random (80/20 frames of the real set: leaks clips and subjects) or loso (leave one "
                                   "subject out: needs subject ids)")
                       ->capture_default_str();
  add_test_source_options(cmd, a->test);
  for (const char* held : {"--test", "--test-casme2", "--test-procedural"}) protocol->excludes(cmd->get_option(held));
  cmd->add_option("--test-fraction", a->test_fraction, "random: the test share of the real frames")->capture_default_str();
  cmd->add_option("--json", a->json, "Write everything as JSON to this file");
  auto& c = a->classifier;
  cmd->add_option("--backbone", c.backbone, "The classifier: vgg16, resnet50 or inception_v3")->capture_default_str();
  cmd->add_option("--backbone-size", c.classifier.size, "small (fergen's narrow presets) or full (torchvision's)")
      ->capture_default_str();
  cmd->add_option("--input-size", c.classifier.input_size,
                  "Classifier input size (raised to the backbone's minimum: inception_v3 75)")
      ->capture_default_str();
  cmd->add_option("--epochs", c.classifier.epochs, "Training epochs of each classifier")->capture_default_str();
  cmd->add_option("--batch", c.classifier.batch, "Batch size")->capture_default_str();
  cmd->add_option("--lr", c.classifier.lr, "Adam's learning rate (cosine decay after a half-epoch warm-up)")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of the split and of both classifiers (the same initial weights)")
      ->capture_default_str();
  cmd->add_flag("--verbose", c.verbose, "A progress line per classifier epoch");
  cmd->footer(
      "The CAS ratio (Classification Accuracy Score, Ravuri & Vinyals 2019) is the synthetic-trained classifier's "
      "accuracy over the real-trained one's on the same real frames: near 1, the synthetic set teaches what the real "
      "frames teach; near chance / real accuracy, nothing. random tests on a fifth of the real frames, which share "
      "clips and subjects with the rest and which a generator trained on them saw; loso cannot know whether the "
      "generator saw each test subject; --test DIR with frames neither the generator nor --real holds is the honest "
      "judge.");
  cmd->callback([a, cmd, &run] {
    // A value given on the command line holds for the backbone chosen, over the preset's tuning of it.
    auto& settings = a->classifier.classifier;
    if (cmd->count("--lr")) settings.set_lr(settings.lr);
    if (cmd->count("--input-size")) settings.set_input_size(settings.input_size);
    if (cmd->count("--batch")) settings.set_batch(settings.batch);
    settings = settings.for_backbone(a->classifier.backbone);
    run = [a] { return run_judge_command(*a); };
  });
}

}  // namespace fergen::tool
