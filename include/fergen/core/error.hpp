// fergen/core/error.hpp: the one exception type of the library and the helpers that build its messages.
#pragma once

#include <fergen/config.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

FERGEN_BEGIN_NAMESPACE

// Every failure the library reports is a fergen::error. Its message names the file, layer, option or key
// and the shapes or values involved. Composite layers add the path of the failing child as the exception
// travels up (add_context), so a user reads "layer1.0.conv2: conv2d ..." rather than a bare shape.
class error : public std::runtime_error {
 public:
  explicit error(std::string message)
      : std::runtime_error(message), message_(std::move(message)), what_(message_) {}

  // Prepends one path component ("conv1", then "0", then "layer1" gives "layer1.0.conv1").
  void add_context(std::string_view component) {
    if (component.empty()) return;
    where_ = where_.empty() ? std::string(component) : std::string(component) + "." + where_;
    what_ = where_ + ": " + message_;
  }

  const std::string& message() const noexcept { return message_; }
  const std::string& where() const noexcept { return where_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string message_;
  std::string where_;
  std::string what_;
};

// Concatenates anything streamable: str("input ", shape, " has ", c, " channels").
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw error(str(args...));
}

// require(condition, message parts...): the message is only built when the check fails.
template <class... Args>
void require(bool condition, const Args&... args) {
  if (!condition) fail(args...);
}

FERGEN_END_NAMESPACE
