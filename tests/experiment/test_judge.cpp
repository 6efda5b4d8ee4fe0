// Tests of experiment/judge.hpp and judge_json.hpp: which frames each classifier of the judge learns and is tested
// on under random, loso and a held-out set, the CAS it reports against values computed by hand, the bad inputs it
// refuses before any training, and its JSON. The classifier is a stand-in whose answers are known: trained on real
// frames it is always right, trained on synthetic images it always answers the first class.
#include <fergen/data/procedural_faces.hpp>
#include <fergen/eval/pixel_features.hpp>
#include <fergen/experiment/judge.hpp>
#include <fergen/experiment/judge_json.hpp>

#include "support/errors.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace fergen;
using namespace fergen::experiment;

namespace {

data::dataset faces(std::int64_t subjects, std::uint64_t seed) {
  data::procedural_options o;
  o.subjects = subjects;
  o.size = 16;
  o.min_frames = 4;
  o.max_frames = 6;
  o.seed = seed;
  return data::procedural_faces(o);
}

const data::dataset& real_frames() {
  static const data::dataset ds = faces(4, 2026);
  return ds;
}

// Synthetic images carry no subject or clip: other faces, ids wiped.
const data::dataset& synthetic_images() {
  static const data::dataset ds = [] {
    data::dataset out = faces(1, 99);
    for (std::int64_t i = 0; i < out.size(); ++i) out[i].subject = out[i].clip = "";
    return out;
  }();
  return ds;
}

struct request_seen {
  std::int64_t train_images = 0;
  std::set<std::string> train_subjects;  // "" for synthetic images
  std::vector<std::int64_t> test_sizes;
  bool features = false;
  std::uint64_t seed = 0;
  std::string label;
};

struct stand_in {
  std::vector<request_seen> seen;
  judge_services services() {
    judge_services s;
    s.train_and_test = [this](const judge_request& r) {
      request_seen x{r.train.size(), {}, {}, r.features_real != nullptr, r.seed, r.label};
      for (const auto& sample : r.train) x.train_subjects.insert(sample.subject);
      const bool synthetic_train = x.train_subjects == std::set<std::string>{""};
      judge_response out;
      for (const data::dataset_view& test : r.tests) {
        x.test_sizes.push_back(test.size());
        out.predictions.emplace_back();
        for (const auto& sample : test) out.predictions.back().push_back(synthetic_train ? 0 : sample.label);
      }
      if (r.features_real)
        out.features = quality_features{eval::pixel_features(*r.features_real, 8),
                                        eval::pixel_features(*r.features_synthetic, 8), "pixels at 8x8"};
      seen.push_back(x);
      return out;
    };
    s.log = [](const std::string&) {};
    return s;
  }
};

std::int64_t first_class_frames(const std::vector<class_cas>& classes) { return classes.at(0).test_images; }

// What the stand-in's answers give: the real-trained classifier scores 1 on every class with test frames, the
// synthetic-trained one recalls only the first class, so per class the ratio is 1 for it and 0 for the others.
void check_known_answers(const judge_result& r) {
  CHECK(r.real_trained.accuracy == 1.0);
  CHECK(r.real_trained.uar == 1.0);
  const double first_share =
      static_cast<double>(first_class_frames(r.cas_per_class)) / static_cast<double>(r.real_trained.test_images);
  CHECK(r.synthetic_trained.accuracy == doctest::Approx(first_share));
  REQUIRE(r.cas_ratio.has_value());
  CHECK(*r.cas_ratio == doctest::Approx(first_share));
  REQUIRE(r.cas_per_class.size() == 7);
  std::int64_t frames = 0;
  for (std::size_t k = 0; k < r.cas_per_class.size(); ++k) {
    const class_cas& c = r.cas_per_class[k];
    CAPTURE(c.class_name);
    CHECK(c.test_images == r.test_class_counts[k]);
    frames += c.test_images;
    if (c.test_images == 0) {
      CHECK(!c.ratio);
      continue;
    }
    CHECK(*c.real_trained_recall == 1.0);
    CHECK(*c.synthetic_trained_recall == (k == 0 ? 1.0 : 0.0));
    CHECK(*c.ratio == (k == 0 ? 1.0 : 0.0));
  }
  CHECK(frames == r.real_trained.test_images);
  CHECK(r.synthetic_trained.test_images == r.real_trained.test_images);
  // Quality: overall and per class, in the real-trained classifier's feature space.
  REQUIRE(r.quality.size() == 8);
  CHECK(r.quality[0].class_name == "all");
  CHECK(r.quality[0].real_images == real_frames().size());
  CHECK(r.quality[0].synthetic_images == synthetic_images().size());
  CHECK(r.quality[0].fid.has_value());
  CHECK(r.quality[0].precision.has_value());
  CHECK(r.quality[0].memorization_rate.has_value());
  CHECK(testing::contains(r.quality[0].feature_space, "pixels at 8x8 trained on "));
}

}  // namespace

TEST_CASE("judge, random: one real-trained classifier on 80% of the frames, both tested on the other 20%") {
  stand_in s;
  judge_plan plan;
  plan.seed = 3;
  const judge_result r = run_judge(real_frames(), synthetic_images(), nullptr, plan, s.services());
  REQUIRE(s.seen.size() == 2);
  const auto n_test = static_cast<std::int64_t>(std::ceil(0.2 * static_cast<double>(real_frames().size())));
  CHECK(s.seen[0].train_images == real_frames().size() - n_test);  // real-trained, asked for the features
  CHECK(s.seen[0].features);
  CHECK(s.seen[0].test_sizes == std::vector<std::int64_t>{n_test});
  CHECK(s.seen[1].train_images == synthetic_images().size());  // synthetic-trained, on every synthetic image
  CHECK(s.seen[1].test_sizes == std::vector<std::int64_t>{n_test});
  CHECK(s.seen[0].seed == s.seen[1].seed);  // the same initial weights on both sides
  CHECK(r.protocol == "random");
  CHECK(r.real_trained.test_images == n_test);
  CHECK(r.real_trained.classifiers == 1);
  CHECK(r.real_trained.train_images == real_frames().size() - n_test);
  CHECK(r.folds.empty());
  check_known_answers(r);
  CHECK(testing::contains(r.quality[0].feature_space, "real training frames of the random split"));
  REQUIRE(!r.warnings.empty());
  CHECK(testing::contains(r.warnings[0], "the random split leaks"));
  CHECK(testing::contains(r.warnings[0], "share a clip with train"));
}

TEST_CASE("judge, loso: a real-trained classifier per subject, the synthetic one trained once, every frame tested once") {
  stand_in s;
  judge_plan plan;
  plan.protocol = judge_protocol::loso;
  const judge_result r = run_judge(real_frames(), synthetic_images(), nullptr, plan, s.services());
  // The synthetic classifier (tested on every real frame), one real classifier per subject, and the feature space.
  REQUIRE(s.seen.size() == 1 + 4 + 1);
  CHECK(s.seen[0].train_subjects == std::set<std::string>{""});
  CHECK(s.seen[0].test_sizes == std::vector<std::int64_t>{real_frames().size()});
  const auto subjects = real_frames().subjects();
  std::int64_t tested = 0;
  for (std::size_t f = 0; f < 4; ++f) {
    const request_seen& fold = s.seen[1 + f];
    CHECK(fold.train_subjects.size() == 3);
    CHECK(!fold.train_subjects.contains(r.folds.at(f).name));  // never the fold's test subject
    CHECK(fold.test_sizes.at(0) == r.folds[f].test_images);
    CHECK(!fold.features);
    CHECK(r.folds[f].real_trained_accuracy == 1.0);
    tested += r.folds[f].test_images;
  }
  CHECK(tested == real_frames().size());
  CHECK(s.seen[5].train_images == real_frames().size());  // the feature space: every real frame
  CHECK(s.seen[5].features);
  CHECK(s.seen[5].test_sizes.empty());
  CHECK(r.real_trained.classifiers == 4);
  CHECK(r.real_trained.test_images == real_frames().size());
  CHECK(r.test_class_counts == real_frames().class_counts());
  // Per fold, the first class's share of the subject's frames.
  CHECK(r.folds[0].synthetic_trained_accuracy ==
        doctest::Approx(static_cast<double>(real_frames().subset(data::leave_one_subject_out(real_frames())[0].test).class_counts()[0]) /
                        static_cast<double>(r.folds[0].test_images)));
  check_known_answers(r);
  CHECK(*r.cas_ratio == doctest::Approx(static_cast<double>(real_frames().class_counts()[0]) / static_cast<double>(real_frames().size())));
  REQUIRE(!r.warnings.empty());
  CHECK(testing::contains(r.warnings[0], "cannot know whether the generator saw the test subjects"));
}

TEST_CASE("judge, held-out: the real-trained classifier learns every real frame, both are tested on the held-out set") {
  stand_in s;
  const data::dataset held_out = faces(2, 7);
  judge_plan plan;
  plan.protocol = judge_protocol::held_out;
  const judge_result r = run_judge(real_frames(), synthetic_images(), &held_out, plan, s.services());
  REQUIRE(s.seen.size() == 2);
  CHECK(s.seen[0].train_images == real_frames().size());
  CHECK(s.seen[0].test_sizes == std::vector<std::int64_t>{held_out.size()});
  CHECK(s.seen[1].test_sizes == std::vector<std::int64_t>{held_out.size()});
  CHECK(r.real_trained.test_images == held_out.size());
  CHECK(r.test_class_counts == held_out.class_counts());
  check_known_answers(r);
  CHECK(r.warnings.empty());
}

TEST_CASE("judge: the same inputs and seed give the same JSON; another seed another split") {
  stand_in a, b, c;
  judge_plan plan;
  plan.seed = 5;
  const judge_setup setup{"test", "real", "synthetic", "", "resnet50", {}, 48, 5, 0.2};
  const auto ja = to_json(run_judge(real_frames(), synthetic_images(), nullptr, plan, a.services()), setup);
  const auto jb = to_json(run_judge(real_frames(), synthetic_images(), nullptr, plan, b.services()), setup);
  CHECK(ja.dump(2) == jb.dump(2));
  plan.seed = 6;
  const auto jc = to_json(run_judge(real_frames(), synthetic_images(), nullptr, plan, c.services()), setup);
  CHECK(ja.dump(2) != jc.dump(2));
  // The keys a reader looks for.
  CHECK(ja["schema"] == "fergen-judge/1");
  CHECK(ja["protocol"] == "random");
  CHECK(ja["classes"].size() == 7);
  CHECK(ja["real_trained"]["accuracy"] == 1.0);
  CHECK(ja["real_trained"]["recall"].size() == 7);
  CHECK(ja["synthetic_trained"]["confusion"].size() == 7);
  CHECK(ja["cas"]["ratio"].get<double>() == doctest::Approx(ja["synthetic_trained"]["accuracy"].get<double>()));
  CHECK(ja["cas"]["per_class"][0]["ratio"] == 1.0);
  CHECK(ja["quality"]["all"]["fid"].is_number());
  CHECK(ja["quality"]["per_class"].size() == 7);
  CHECK(ja["classifier"]["backbone"] == "resnet50");
  CHECK(ja["test"]["images"] == ja["real_trained"]["test_images"]);
  CHECK(ja["warnings"].size() == 1);
}

TEST_CASE("judge: bad inputs are refused before any training, in one line that says what is needed") {
  stand_in s;
  judge_plan plan;
  auto refused = [&](const data::dataset& r, const data::dataset& y, const data::dataset* h, const judge_plan& p) {
    return testing::error_of([&] { run_judge(r, y, h, p, s.services()); });
  };
  // Classes: another list, or a class with no image on one side.
  data::dataset other({"a", "b"});
  other.add({real_frames()[0].image, 0, "", "", -1, ""});
  other.add({real_frames()[0].image, 1, "", "", -1, ""});
  CHECK(testing::contains(refused(real_frames(), other, nullptr, plan),
                          "the synthetic set's classes (a, b) are not the real set's (happiness,"));
  data::dataset missing(real_frames().class_names());
  for (const auto& x : synthetic_images())
    if (x.label != 2) missing.add(x);
  CHECK(testing::contains(refused(real_frames(), missing, nullptr, plan),
                          "the synthetic set has no image of class 'surprise'; each side needs at least one image per class"));
  CHECK(testing::contains(refused(missing, synthetic_images(), nullptr, plan),
                          "the real set has no frame of class 'surprise'; each side needs at least one image per class"));
  // Too few real frames for the random split.
  data::dataset one({"only"});
  one.add({real_frames()[0].image, 0, "sub01", "c", 0, ""});
  CHECK(testing::contains(refused(one, one, nullptr, plan),
                          "the random protocol's split of 1 real frame leaves none to train on; it needs at least 2"));
  // loso without subject ids, or with one subject.
  plan.protocol = judge_protocol::loso;
  CHECK(testing::contains(refused(synthetic_images(), synthetic_images(), nullptr, plan),
                          "--protocol loso needs a subject id for every real frame, and " +
                              std::to_string(synthetic_images().size()) + " of " + std::to_string(synthetic_images().size()) +
                              " have none"));
  CHECK(testing::contains(refused(faces(1, 3), synthetic_images(), nullptr, plan), "--protocol loso needs at least 2 subjects"));
  // held-out: empty, or under another protocol.
  plan.protocol = judge_protocol::held_out;
  const data::dataset empty(real_frames().class_names());
  CHECK(testing::contains(refused(real_frames(), synthetic_images(), &empty, plan), "the held-out real set is empty"));
  plan.protocol = judge_protocol::random;
  CHECK(testing::contains(refused(real_frames(), synthetic_images(), &real_frames(), plan), "judged under the held-out protocol, not random"));
  CHECK(testing::contains(testing::error_of([] { parse_judge_protocol("subject-kfold"); }),
                          "judge: unknown protocol 'subject-kfold' (known: random, loso; give --test DIR"));
  CHECK(s.seen.empty());  // nothing was trained
}
