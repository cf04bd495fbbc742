// A small streaming JSON writer: objects, arrays, strings, unsigned numbers and booleans,
// indented two spaces. Keys come out in the order written.
#ifndef FANOUT_CLI_JSON_WRITER_HPP
#define FANOUT_CLI_JSON_WRITER_HPP

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace fanout {
namespace cli {

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream &out) : out_(out) {}

  // Containers: a key is given inside an object, omitted inside an array or at top level.
  void begin_object(const char *key = nullptr);
  void end_object();
  void begin_array(const char *key = nullptr);
  void end_array();

  void field(const char *key, const std::string &value);
  void field(const char *key, const char *value) { field(key, std::string(value)); }
  void field(const char *key, uint64_t value);
  void field(const char *key, uint32_t value) { field(key, (uint64_t)value); }
  void field(const char *key, int value) { field(key, (uint64_t)(value < 0 ? 0 : value)); }
  void field(const char *key, bool value);
  // Ends the document with a newline.
  void finish() { out_ << '\n'; }

 private:
  void element_start(const char *key);
  void close(char bracket);
  void write_string(const std::string &s);

  std::ostream &out_;
  std::vector<bool> has_elements_; // one per open container
};

} // namespace cli
} // namespace fanout

#endif
