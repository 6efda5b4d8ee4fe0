// fergen augment: applies exact augmentation parameters to one image, so users can preview a policy.
#include "commands.hpp"

#include <fergen/augment/fill_mode.hpp>
#include <fergen/augment/transform.hpp>
#include <fergen/data/image_io.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

namespace fergen::tool {

// The parameters mean exactly what Keras' ImageDataGenerator.apply_transform takes: the warp maps each
// output pixel to a source position (shifts are Keras' tx/ty: a positive --shift-y samples from further
// down, so the content moves up), then flips, then brightness (x * B, clipped to [0, 255]).
void add_augment_command(CLI::App& app, std::function<int()>& run) {
  struct arguments {
    std::string in, out, fill = "nearest";
    augment::transform t;
    double zoom = 1;
  };
  auto a = std::make_shared<arguments>();
  CLI::App* cmd = app.add_subcommand("augment", "Apply exact augmentation parameters to one image (writes a PNG)");
  cmd->add_option("--in", a->in, "Input image (JPEG, PNG, BMP)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "Output PNG")->required();
  cmd->add_option("--rotation", a->t.rotation, "Rotation in degrees (Keras theta)");
  cmd->add_option("--shift-x", a->t.shift_cols, "Horizontal shift in pixels (Keras ty)");
  cmd->add_option("--shift-y", a->t.shift_rows, "Vertical shift in pixels (Keras tx)");
  cmd->add_option("--zoom", a->zoom, "Zoom factor for both axes (Keras zx = zy; > 1 zooms out)");
  cmd->add_flag("--flip-h", a->t.flip_h, "Flip horizontally (after the warp)");
  cmd->add_flag("--flip-v", a->t.flip_v, "Flip vertically (after the warp)");
  cmd->add_option("--brightness", a->t.brightness, "Brightness factor (x * B, clipped to [0, 255])");
  cmd->add_option("--fill", a->fill, "Fill mode beyond the edges: nearest, constant, reflect, wrap");
  cmd->add_option("--cval", a->t.cval, "Fill value of --fill constant, on the [0, 255] scale");
  cmd->callback([a, &run] {
    run = [a] {
      a->t.fill = augment::parse_fill_mode(a->fill);
      a->t.zoom_rows = a->t.zoom_cols = a->zoom;
      const data::image in = data::load_image(a->in);
      const data::image out = augment::apply(in, a->t);
      data::write_png(a->out, out);
      std::printf("%s (%lld x %lld, %lld channel%s) -> %s with %s\n", a->in.c_str(), static_cast<long long>(in.width),
                  static_cast<long long>(in.height), static_cast<long long>(in.channels), in.channels == 1 ? "" : "s",
                  a->out.c_str(), str(a->t).c_str());
      return 0;
    };
  });
}

}  // namespace fergen::tool
