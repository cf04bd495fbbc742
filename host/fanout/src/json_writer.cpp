#include "fanout/cli/json_writer.hpp"

#include <cstdio>

namespace fanout {
namespace cli {

void JsonWriter::element_start(const char *key) {
  if (!has_elements_.empty()) {
    if (has_elements_.back()) out_ << ',';
    has_elements_.back() = true;
    out_ << '\n' << std::string(2 * has_elements_.size(), ' ');
  }
  if (key) {
    write_string(key);
    out_ << ": ";
  }
}

void JsonWriter::begin_object(const char *key) {
  element_start(key);
  out_ << '{';
  has_elements_.push_back(false);
}

void JsonWriter::end_object() {
  close('}');
}

void JsonWriter::close(char bracket) {
  bool any = has_elements_.back();
  has_elements_.pop_back();
  if (any) out_ << '\n' << std::string(2 * has_elements_.size(), ' ');
  out_ << bracket;
}

void JsonWriter::begin_array(const char *key) {
  element_start(key);
  out_ << '[';
  has_elements_.push_back(false);
}

void JsonWriter::end_array() {
  close(']');
}

void JsonWriter::field(const char *key, const std::string &value) {
  element_start(key);
  write_string(value);
}

void JsonWriter::field(const char *key, uint64_t value) {
  element_start(key);
  out_ << value;
}

void JsonWriter::field(const char *key, bool value) {
  element_start(key);
  out_ << (value ? "true" : "false");
}

void JsonWriter::write_string(const std::string &s) {
  out_ << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out_ << '\\' << c;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out_ << buf;
    } else {
      out_ << c;
    }
  }
  out_ << '"';
}

} // namespace cli
} // namespace fanout
