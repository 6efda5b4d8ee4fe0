// fergen/experiment/report.hpp: a study's results folder turned into its report: tables laid out like the
// study's Tables 3-14 (tables.md), the comparison with the published figures (comparison.md), confusion
// matrices (PNG), loss curves (SVG), and one self-contained report.html holding all of it.
//
// Everything here is rebuilt from results.json plus the sample grids the run wrote, so `fergen report`
// reproduces a report without rerunning anything.
#pragma once

#include <fergen/core/error.hpp>
#include <fergen/experiment/aggregate.hpp>
#include <fergen/experiment/cas.hpp>
#include <fergen/experiment/published_results.hpp>
#include <fergen/experiment/results_json.hpp>
#include <fergen/experiment/study_axes.hpp>
#include <fergen/experiment/study_results.hpp>
#include <fergen/report/base64.hpp>
#include <fergen/report/confusion_figure.hpp>
#include <fergen/report/html.hpp>
#include <fergen/report/markdown.hpp>
#include <fergen/report/svg_chart.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

FERGEN_BEGIN_NAMESPACE
namespace experiment {

namespace detail {

inline std::string percent(double fraction, int decimals = 2) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, 100.0 * fraction);
  return b;
}
inline std::string fixed(double v, int decimals = 3) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}
inline std::string optional_fixed(const std::optional<double>& v, int decimals = 3) {
  return v ? fixed(*v, decimals) : std::string("n/a");
}

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  require(out.good(), "cannot write ", file.string());
  out << text;
  require(out.good(), "writing ", file.string(), " failed");
}

inline std::string read_bytes_base64(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  require(in.good(), "report: cannot read ", file.string(), " (the run wrote it; was the folder moved in part?)");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return report::base64(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

// The protocols present, in the order the results list them.
inline std::vector<std::string> protocols_of(const study_results& r) {
  std::vector<std::string> out;
  for (const auto& t : r.trials_run)
    if (std::find(out.begin(), out.end(), t.protocol) == out.end()) out.push_back(t.protocol);
  return out;
}

template <class Axis, std::size_t N>
std::vector<std::string> present(const study_results& r, const std::array<Axis, N>& order,
                                 std::string trial_record::*field) {
  std::set<std::string> seen;
  for (const auto& t : r.trials_run) seen.insert(t.*field);
  std::vector<std::string> out;
  for (const Axis a : order)
    if (seen.contains(std::string(name(a)))) out.push_back(std::string(name(a)));
  return out;
}
inline std::vector<std::string> backbones_of(const study_results& r) {
  std::set<std::string> seen;
  for (const auto& t : r.trials_run) seen.insert(t.backbone);
  std::vector<std::string> out;
  for (const auto b : backbone_names)
    if (seen.contains(std::string(b))) out.push_back(std::string(b));
  return out;
}

inline const cell_summary* find_cell(const std::vector<cell_summary>& cells, const cell_key& key) {
  for (const auto& c : cells)
    if (c.key == key) return &c;
  return nullptr;
}

inline std::string file_stem(const cell_key& k) {
  return k.protocol + "_" + k.setting + "_" + k.config + "_" + k.backbone;
}

// The honest protocol of a run (loso or subject-kfold), if it ran one.
inline std::optional<std::string> honest_protocol(const study_results& r) {
  for (const auto& p : protocols_of(r))
    if (p != "random") return p;
  return std::nullopt;
}

// What the CAS columns are, said where they appear.
inline constexpr const char* cas_definition =
    "CAS ratio = synth-real / real-real accuracy, same backbone, configuration and protocol (the Classification "
    "Accuracy Score of Ravuri & Vinyals 2019: a classifier trained on synthetic images only, tested on the real "
    "frames the real-trained one is tested on); per trial against the same trial, and of the means over trials";

inline const cas_cell* find_cas(const std::vector<cas_cell>& cells, const std::string& protocol,
                                const std::string& backbone, const std::string& config) {
  for (const auto& c : cells)
    if (c.protocol == protocol && c.backbone == backbone && c.config == config) return &c;
  return nullptr;
}

// "0.52, 0.61" (n/a where the real-real row scored 0).
inline std::string trial_ratios_text(const cas_cell& c) {
  std::string out;
  for (const auto& v : c.trial_ratios) out += (out.empty() ? "" : ", ") + optional_fixed(v, 2);
  return out;
}

// "CAS ratio (mean over backbones): 0.71 random, 0.64 loso", for one configuration; empty without any CAS.
inline std::string cas_summary_line(const std::vector<cas_cell>& cells, const std::vector<std::string>& protocols,
                                    const std::string& config) {
  std::string parts;
  for (const auto& p : protocols)
    if (const auto v = mean_cas_over_backbones(cells, p, config)) parts += (parts.empty() ? "" : ", ") + fixed(*v, 2) + " " + p;
  return parts.empty() ? std::string() : "CAS ratio (mean over backbones, " + config + "): " + parts;
}

// The per-class CAS of one protocol and configuration: a row per backbone and class, recalls of the confusions
// summed over trials.
inline std::vector<std::vector<std::string>> cas_class_rows(const std::vector<cas_cell>& cells,
                                                            const std::vector<std::string>& backbones,
                                                            const std::string& protocol, const std::string& config) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& backbone : backbones)
    if (const cas_cell* c = find_cas(cells, protocol, backbone, config))
      for (const auto& k : c->classes)
        rows.push_back({backbone, k.class_name, std::to_string(k.test_images),
                        k.real_trained_recall ? percent(*k.real_trained_recall) : "n/a",
                        k.synthetic_trained_recall ? percent(*k.synthetic_trained_recall) : "n/a",
                        optional_fixed(k.ratio, 2)});
  return rows;
}
inline const std::vector<std::string>& cas_class_header() {
  static const std::vector<std::string> h{"model", "class", "real test frames (all trials)", "real-trained recall %",
                                          "synthetic-trained recall %", "ratio"};
  return h;
}

}  // namespace detail

// One table per protocol x configuration x setting, rows = backbones, as the study prints them (per-trial
// accuracy in %, the average), plus the spread, UF1, UAR and whether the row leaks.
inline std::string study_tables_markdown(const study_results& r) {
  const auto cells = summarize(r);
  const auto cas = summarize_cas(r);
  const auto protocols = detail::protocols_of(r);
  const auto settings = detail::present(r, all_settings, &trial_record::setting);
  const auto configs = detail::present(r, all_configurations, &trial_record::config);
  std::ostringstream md;
  md << "# fergen study: tables\n\nAccuracies in %, one column per trial; mean +- sample standard deviation over "
        "trials; UF1 (unweighted F1) and UAR (unweighted average recall) averaged over trials. Under a "
        "subject-independent protocol each trial pools the predictions of every fold.\n";
  for (const auto& protocol : protocols) {
    md << "\n## Protocol `" << protocol << "`: " << describe(parse_protocol(protocol)) << "\n";
    for (const auto& config : configs)
      for (const auto& setting : settings) {
        const int table = published_table(parse_setting(setting), parse_configuration(config));
        md << "\n### " << setting << ", " << config << " (the study's Table " << table << "; protocol " << protocol
           << ")\n\n";
        const bool with_cas = setting == "synth-real" && !cas.empty();
        std::vector<std::string> header{"model"};
        for (std::int64_t t = 1; t <= r.trials; ++t) header.push_back("trial " + std::to_string(t));
        for (const char* h : {"mean +- std", "UF1", "UAR"}) header.emplace_back(h);
        if (with_cas) {
          header.emplace_back("CAS ratio per trial");
          header.emplace_back("CAS ratio of the means");
        }
        for (const char* h : {"protocol", "leaks?"}) header.emplace_back(h);
        std::vector<std::vector<std::string>> rows;
        for (const auto& backbone : detail::backbones_of(r)) {
          const cell_summary* c = detail::find_cell(cells, {protocol, setting, backbone, config});
          if (!c) continue;
          std::vector<std::string> row{backbone};
          for (std::int64_t t = 0; t < r.trials; ++t)
            row.push_back(t < static_cast<std::int64_t>(c->accuracies.size())
                              ? detail::percent(c->accuracies[static_cast<std::size_t>(t)])
                              : std::string("-"));
          row.push_back(detail::percent(c->mean_accuracy) + " +- " + detail::percent(c->std_accuracy));
          row.push_back(detail::fixed(c->mean_uf1));
          row.push_back(detail::fixed(c->mean_uar));
          if (with_cas) {
            const cas_cell* k = detail::find_cas(cas, protocol, backbone, config);
            row.push_back(k ? detail::trial_ratios_text(*k) : "n/a (no real-real row)");
            row.push_back(k ? detail::optional_fixed(k->ratio_of_means, 2) : "n/a");
          }
          row.push_back(protocol);
          row.push_back(c->leaking ? "yes: " + c->leak_reason : "no");
          rows.push_back(std::move(row));
        }
        if (with_cas) md << detail::cas_definition << ".\n\n";
        md << report::markdown_table(header, rows);
        if (with_cas)
          if (const auto line = detail::cas_summary_line(cas, protocols, config); !line.empty()) md << "\n" << line << "\n";
      }
    // The per-class CAS: which expressions the synthetic set teaches and which it does not.
    for (const auto& config : configs) {
      const auto rows = detail::cas_class_rows(cas, detail::backbones_of(r), protocol, config);
      if (rows.empty()) continue;
      md << "\n### Per-class CAS, " << config << " (protocol " << protocol
         << ")\n\nRecall on the real test frames of the classifier trained on real frames (real-real) and of the one "
            "trained on synthetic images (synth-real), and their ratio; confusions summed over trials.\n\n"
         << report::markdown_table(detail::cas_class_header(), rows);
    }
  }
  return md.str();
}

// The study's published averages beside fergen's, under the study's protocol and under the honest one.
struct comparison_row {
  std::string setting, config, backbone;
  int table = 0;
  double published = 0;  // percent, as printed
  std::optional<double> random_mean, honest_mean;  // fractions
};

inline std::vector<comparison_row> comparison_rows(const study_results& r) {
  const auto cells = summarize(r);
  const auto honest = detail::honest_protocol(r);
  std::vector<comparison_row> rows;
  for (const auto& config : detail::present(r, all_configurations, &trial_record::config))
    for (const auto& setting : detail::present(r, all_settings, &trial_record::setting))
      for (const auto& backbone : detail::backbones_of(r)) {
        const auto pub = published(parse_setting(setting), parse_configuration(config), backbone);
        if (!pub) continue;
        comparison_row row{setting, config, backbone, pub->table, pub->average, std::nullopt, std::nullopt};
        if (const auto* c = detail::find_cell(cells, {"random", setting, backbone, config})) row.random_mean = c->mean_accuracy;
        if (honest)
          if (const auto* c = detail::find_cell(cells, {*honest, setting, backbone, config})) row.honest_mean = c->mean_accuracy;
        rows.push_back(row);
      }
  return rows;
}

inline std::string comparison_markdown(const study_results& r) {
  const auto honest = detail::honest_protocol(r);
  std::vector<std::string> header{"table", "setting", "config", "model", "published (random 80/20)",
                                  "fergen, random 80/20", std::string("fergen, ") + (honest ? *honest : "honest")};
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : comparison_rows(r))
    rows.push_back({std::to_string(c.table), c.setting, c.config, c.backbone, detail::fixed(c.published, 2),
                    c.random_mean ? detail::percent(*c.random_mean) : "not run",
                    c.honest_mean ? detail::percent(*c.honest_mean) : "not run"});
  std::ostringstream md;
  md << "# The study's published accuracies beside fergen's\n\nPublished: the preprint's Tables 3-14, all under its "
        "frame-level random 80/20 split. fergen ran "
     << r.preset << " sizes on " << r.data_source
     << "; its figures are not the study's data and sizes unless the preset is `paper` on CASME II. Accuracy in %.\n\n"
     << report::markdown_table(header, rows);
  return md.str();
}

struct report_files {
  std::filesystem::path html, tables, comparison;
  std::vector<std::filesystem::path> figures;
};

// Writes tables.md, comparison.md, figures/ (confusion PNGs, curve SVGs) and report.html into `folder`,
// which holds results.json and the sample grids the run wrote.
inline report_files write_report(const std::filesystem::path& folder, const study_results& r) {
  namespace fs = std::filesystem;
  report_files files;
  const fs::path figures = folder / "figures";
  fs::create_directories(figures);
  const auto cells = summarize(r);
  const auto protocols = detail::protocols_of(r);
  const auto settings = detail::present(r, all_settings, &trial_record::setting);
  const auto configs = detail::present(r, all_configurations, &trial_record::config);
  const auto backbones = detail::backbones_of(r);
  const auto honest = detail::honest_protocol(r);
  const auto cas = summarize_cas(r);

  files.tables = folder / "tables.md";
  detail::write_text(files.tables, study_tables_markdown(r));
  files.comparison = folder / "comparison.md";
  detail::write_text(files.comparison, comparison_markdown(r));

  std::ostringstream h;
  h << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>fergen study report ("
    << report::escape_html(r.preset) << ")</title>\n<style>"
    << "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
       "table{border-collapse:collapse;margin:0.6em 0 1.4em}th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
       "th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}"
       ".leak{color:#a40000}.honest{color:#006400}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px}"
       ".figs{display:flex;flex-wrap:wrap;gap:12px}.figs figure{margin:0}figcaption{font-size:12px;color:#555}"
       "h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:2em}"
    << "</style></head><body>\n";
  h << "<h1>fergen study report</h1>\n<p>fergen " << report::escape_html(r.fergen_version) << ", preset <b>"
    << report::escape_html(r.preset) << "</b>. Real data: " << report::escape_html(r.data_source) << " ("
    << r.subjects << " subjects, " << r.clips << " clips, classes: ";
  for (std::size_t i = 0; i < r.class_names.size(); ++i)
    h << (i ? ", " : "") << report::escape_html(r.class_names[i]) << " "
      << (i < r.real_class_counts.size() ? r.real_class_counts[i] : 0);
  h << "). Backbones: " << report::escape_html(r.backbone_size) << " size, input " << r.input_size << "x"
    << r.input_size << ", " << r.epochs << " epochs, " << r.trials << " trial(s), seed " << r.seed << ".</p>\n";
  h << "<p class=\"note\">Every row states its protocol. <b>random</b> is the study's frame-level 80/20 split: frames "
       "5 ms apart from one clip fall on both sides, and the generator saw the test frames, so its accuracies "
       "measure recognition of seen clips, not of expressions. <b>loso</b> (leave one subject out) and "
       "<b>subject-kfold</b> keep every subject on one side, and the generator of each fold never sees that fold's "
       "test subjects; rows that test on synthetic images cannot be subject-independent (a synthetic image has no "
       "subject, and its generator learned the training subjects) and are marked as leaking.</p>\n";

  // The gap: mean accuracy over backbones per setting, study protocol against the honest one.
  if (!protocols.empty()) {
    h << "<h2>The study's protocol against a subject-independent one</h2>\n";
    std::vector<report::bar_group> groups;
    for (const auto& setting : settings) {
      report::bar_group g{setting, {}};
      for (const auto& protocol : protocols) {
        std::vector<double> means;
        for (const auto& backbone : backbones)
          if (const auto* c = detail::find_cell(cells, {protocol, setting, backbone, "baseline"}))
            means.push_back(c->mean_accuracy);
        g.values.push_back(means.empty() ? std::numeric_limits<double>::quiet_NaN() : 100.0 * mean_of(means));
      }
      groups.push_back(g);
    }
    h << "<p>Mean accuracy (%) over the backbones, baseline configuration, per setting and protocol.</p>\n"
      << report::svg_grouped_bars(groups, protocols,
                                  {.title = "Accuracy by setting and protocol (baseline, mean over backbones)",
                                   .x_label = "setting", .y_label = "accuracy (%)", .width = 760, .height = 320},
                                  100.0, "")
      << "\n";
    std::vector<std::string> header{"setting"};
    for (const auto& p : protocols) header.push_back(p + " accuracy %");
    if (honest && protocols.size() > 1) header.push_back("gap (random - " + *honest + ")");
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : groups) {
      std::vector<std::string> row{g.category};
      for (double v : g.values) row.push_back(std::isfinite(v) ? detail::fixed(v, 2) : "not run");
      if (honest && protocols.size() > 1) {
        const auto at = [&](const std::string& p) {
          const auto i = static_cast<std::size_t>(std::find(protocols.begin(), protocols.end(), p) - protocols.begin());
          return i < g.values.size() ? g.values[i] : std::numeric_limits<double>::quiet_NaN();
        };
        const double gap = at("random") - at(*honest);
        row.push_back(std::isfinite(gap) ? detail::fixed(gap, 2) + " points" : "n/a");
      }
      rows.push_back(row);
    }
    h << report::html_table(header, rows);
  }

  h << "<h2>Tables like the study's (Tables 3-14)</h2>\n";
  for (const auto& protocol : protocols) {
    h << "<h3>Protocol <code>" << report::escape_html(protocol) << "</code>: "
      << report::escape_html(std::string(describe(parse_protocol(protocol)))) << "</h3>\n";
    for (const auto& config : configs)
      for (const auto& setting : settings) {
        const int table = published_table(parse_setting(setting), parse_configuration(config));
        const bool with_cas = setting == "synth-real" && !cas.empty();
        std::vector<std::string> header{"model"};
        for (std::int64_t t = 1; t <= r.trials; ++t) header.push_back("trial " + std::to_string(t));
        for (const char* x : {"mean +- std", "UF1", "UAR", "test images"}) header.emplace_back(x);
        if (with_cas) {
          header.emplace_back("CAS ratio per trial");
          header.emplace_back("CAS ratio of the means");
        }
        for (const char* x : {"protocol", "leaks?"}) header.emplace_back(x);
        std::vector<std::vector<std::string>> rows;
        for (const auto& backbone : backbones) {
          const cell_summary* c = detail::find_cell(cells, {protocol, setting, backbone, config});
          if (!c) continue;
          std::vector<std::string> row{backbone};
          for (std::int64_t t = 0; t < r.trials; ++t)
            row.push_back(t < static_cast<std::int64_t>(c->accuracies.size())
                              ? detail::percent(c->accuracies[static_cast<std::size_t>(t)])
                              : "-");
          row.push_back(detail::percent(c->mean_accuracy) + " +- " + detail::percent(c->std_accuracy));
          row.push_back(detail::fixed(c->mean_uf1));
          row.push_back(detail::fixed(c->mean_uar));
          row.push_back(std::to_string(c->test_images));
          if (with_cas) {
            const cas_cell* k = detail::find_cas(cas, protocol, backbone, config);
            row.push_back(k ? detail::trial_ratios_text(*k) : "n/a (no real-real row)");
            row.push_back(k ? detail::optional_fixed(k->ratio_of_means, 2) : "n/a");
          }
          row.push_back(protocol);
          row.push_back(c->leaking ? "yes: " + c->leak_reason : "no");
          rows.push_back(row);
        }
        if (rows.empty()) continue;
        h << "<p><b>" << report::escape_html(setting) << ", " << report::escape_html(config) << "</b> ("
          << report::escape_html(std::string(describe(parse_setting(setting)))) << "; the study's Table " << table
          << ")</p>\n";
        if (with_cas) h << "<p>" << report::escape_html(detail::cas_definition) << ".</p>\n";
        h << report::html_table(header, rows);
        if (with_cas)
          if (const auto line = detail::cas_summary_line(cas, protocols, config); !line.empty())
            h << "<p class=\"note\"><b>" << report::escape_html(line) << "</b></p>\n";
      }
    for (const auto& config : configs) {
      const auto rows = detail::cas_class_rows(cas, backbones, protocol, config);
      if (rows.empty()) continue;
      h << "<p><b>Per-class CAS, " << report::escape_html(config) << "</b> (protocol "
        << report::escape_html(protocol)
        << "): recall on the real test frames of the classifier trained on real frames (real-real) and of the one "
           "trained on synthetic images (synth-real), and their ratio; confusions summed over trials.</p>\n"
        << report::html_table(detail::cas_class_header(), rows);
    }
  }

  h << "<h2>Beside the published figures</h2>\n<p>The study's averages (its Tables 3-14, frame-level random 80/20 on "
       "CASME II) beside fergen's mean accuracy under the study's protocol and under "
    << (honest ? report::escape_html(*honest) : std::string("no honest protocol (not run)")) << ".</p>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : comparison_rows(r))
      rows.push_back({std::to_string(c.table), c.setting, c.config, c.backbone, detail::fixed(c.published, 2),
                      c.random_mean ? detail::percent(*c.random_mean) : "not run",
                      c.honest_mean ? detail::percent(*c.honest_mean) : "not run"});
    h << report::html_table({"table", "setting", "config", "model", "published %", "fergen random %",
                             "fergen " + (honest ? *honest : std::string("honest")) + " %"},
                            rows);
  }

  if (!r.generators.empty() || !r.quality.empty()) {
    h << "<h2>The synthetic database</h2>\n";
    std::vector<report::series> curves;
    for (const auto& g : r.generators) {
      report::series s{g.protocol + " " + g.fold, {}};
      for (const auto& [step, loss] : g.loss_curve) s.points.emplace_back(static_cast<double>(step), loss);
      curves.push_back(std::move(s));
    }
    if (!curves.empty()) {
      const std::string svg = report::svg_line_chart(
          curves, {.title = "Diffusion training loss (smoothed)", .x_label = "step", .y_label = "loss (log scale)",
                   .width = 760, .height = 300, .log_y = true});
      detail::write_text(figures / "generator_loss.svg", svg);
      files.figures.push_back(figures / "generator_loss.svg");
      h << svg << "\n";
    }
    h << "<div class=\"figs\">";
    for (const auto& g : r.generators) {
      if (g.sample_grid.empty()) continue;
      h << "<figure><img alt=\"samples " << report::escape_html(g.protocol + " " + g.fold) << "\" src=\""
        << report::png_data_url_prefix() << detail::read_bytes_base64(folder / g.sample_grid)
        << "\"><figcaption>Per-class samples, generator of " << report::escape_html(g.protocol) << " / "
        << report::escape_html(g.fold) << " (" << g.train_images << " training frames";
      if (!g.held_out_subjects.empty()) {
        h << "; never saw ";
        for (std::size_t i = 0; i < g.held_out_subjects.size(); ++i)
          h << (i ? ", " : "") << report::escape_html(g.held_out_subjects[i]);
      }
      h << ")</figcaption></figure>";
    }
    h << "</div>\n";
    if (!r.quality.empty()) {
      h << "<p>Quality of each synthetic set against its generator's training frames. FID and KID here are "
           "measured in the stated feature space, <b>not</b> ImageNet-Inception space, so they compare runs of this "
           "report with each other, not with published FIDs. Precision/recall: k-NN manifolds (k = 3). "
           "Memorisation: share of generated images whose nearest training frame (pixels) is closer than 1/3 of "
           "the distance to the nearest frame of another clip.</p>\n<p>Feature space: "
        << report::escape_html(r.quality.front().feature_space) << "</p>\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& q : r.quality)
        rows.push_back({q.protocol + " / " + q.fold, q.class_name, std::to_string(q.real_images),
                        std::to_string(q.synthetic_images), detail::optional_fixed(q.fid),
                        q.kid_mean ? detail::fixed(*q.kid_mean, 4) + " +- " + detail::optional_fixed(q.kid_std, 4) : "n/a",
                        detail::optional_fixed(q.precision), detail::optional_fixed(q.recall),
                        q.memorization_rate ? detail::percent(*q.memorization_rate, 1) + " %" : "n/a"});
      h << report::html_table({"generator", "class", "real", "synthetic", "FID (stated space)", "KID",
                               "precision", "recall", "memorised"},
                              rows);
    }
  }

  h << "<h2>Confusion matrices</h2>\n<p>Summed over trials (and, under subject-independent protocols, over "
       "folds); rows are true classes, shading is the fraction of the true class.</p>\n";
  for (const auto& protocol : protocols)
    for (const auto& config : configs) {
      h << "<h3>" << report::escape_html(protocol) << ", " << report::escape_html(config) << "</h3><div class=\"figs\">";
      for (const auto& setting : settings)
        for (const auto& backbone : backbones) {
          const cell_summary* c = detail::find_cell(cells, {protocol, setting, backbone, config});
          if (!c || c->confusion.size() != r.class_names.size()) continue;
          const auto png =
              report::confusion_figure(c->confusion, r.class_names, setting + ", " + backbone + " (" + protocol + ")")
                  .png();
          const fs::path file = figures / ("confusion_" + detail::file_stem(c->key) + ".png");
          {
            std::ofstream out(file, std::ios::binary);
            out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
            require(out.good(), "cannot write ", file.string());
          }
          files.figures.push_back(file);
          h << "<figure><img alt=\"confusion " << report::escape_html(detail::file_stem(c->key)) << "\" src=\""
            << report::png_data_url(png) << "\"></figure>";
        }
      h << "</div>\n";
    }

  h << "<h2>Training curves</h2>\n<p>Training loss per epoch of each backbone's first trial (first fold).</p>\n"
       "<div class=\"figs\">";
  for (const auto& protocol : protocols)
    for (const auto& config : configs)
      for (const auto& setting : settings) {
        std::vector<report::series> lines;
        for (const auto& t : r.trials_run)
          if (t.protocol == protocol && t.config == config && t.setting == setting && t.trial == 1) {
            report::series s{t.backbone, {}};
            for (const auto& e : t.history) s.points.emplace_back(static_cast<double>(e.epoch), e.train_loss);
            lines.push_back(std::move(s));
          }
        if (lines.empty()) continue;
        const std::string svg = report::svg_line_chart(
            lines, {.title = setting + ", " + config + " (" + protocol + ")", .x_label = "epoch",
                    .y_label = "training loss", .width = 460, .height = 260, .y_from_zero = true});
        const fs::path file = figures / ("loss_" + protocol + "_" + setting + "_" + config + ".svg");
        detail::write_text(file, svg);
        files.figures.push_back(file);
        h << "<figure>" << svg << "</figure>";
      }
  h << "</div>\n";

  if (!r.warnings.empty()) {
    h << "<h2>Warnings</h2><ul>";
    for (const auto& w : r.warnings) h << "<li class=\"leak\">" << report::escape_html(w) << "</li>";
    h << "</ul>\n";
  }
  h << "<p>Files: results.json, results.csv, results_per_class.csv, tables.md, comparison.md, figures/. Rebuild this page with <code>fergen "
       "report --results "
    << report::escape_html(folder.filename().string()) << "</code>.</p>\n";
  // Marks the page once every image has decoded, for the headless-browser test (and for readers' curiosity).
  h << "<script>window.addEventListener('load',function(){var i=Array.prototype.slice.call(document.images);"
       "var ok=i.filter(function(x){return x.complete&&x.naturalWidth>0;}).length;"
       "document.body.setAttribute('data-images-loaded',ok+'/'+i.length);});</script>\n";
  h << "</body></html>\n";
  files.html = folder / "report.html";
  detail::write_text(files.html, h.str());
  return files;
}

}  // namespace experiment
FERGEN_END_NAMESPACE
