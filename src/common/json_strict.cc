#include "common/json_strict.h"

#include <boost/json/basic_parser_impl.hpp>

#include <cstdint>
#include <set>
#include <vector>

namespace lattice {
namespace {

using boost::json::string_view;
using boost::system::error_code;

// A basic_parser handler that keeps only what naming a duplicate needs: for each open object
// its keys so far, for each open array the index of the current element.
class DuplicateFinder {
 public:
  constexpr static std::size_t max_object_size = std::size_t(-1);
  constexpr static std::size_t max_array_size = std::size_t(-1);
  constexpr static std::size_t max_key_size = std::size_t(-1);
  constexpr static std::size_t max_string_size = std::size_t(-1);

  std::optional<std::string> duplicate;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    Value();
    frames_.push_back(Frame{true, -1, {}, {}});
    return true;
  }
  bool on_object_end(std::size_t, error_code&) { return Pop(); }
  bool on_array_begin(error_code&) {
    Value();
    frames_.push_back(Frame{false, -1, {}, {}});
    return true;
  }
  bool on_array_end(std::size_t, error_code&) { return Pop(); }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& f = frames_.back();
    f.key = std::move(key_);
    key_.clear();
    if (!f.keys.insert(f.key).second) {
      duplicate = Path();
      ec = boost::json::error::syntax;  // stop here: one is enough
      return false;
    }
    return true;
  }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return Value(); }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return Value(); }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return Value(); }
  bool on_double(double, string_view, error_code&) { return Value(); }
  bool on_bool(bool, error_code&) { return Value(); }
  bool on_null(error_code&) { return Value(); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  struct Frame {
    bool object;
    long index;       // arrays: the current element
    std::string key;  // objects: the current member
    std::set<std::string> keys;
  };

  // A value starts: in an array it is the next element.
  bool Value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
    return true;
  }
  bool Pop() {
    frames_.pop_back();
    return true;
  }
  std::string Path() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.object) {
        if (!out.empty()) out += '.';
        out += f.key;
      } else {
        out += '[' + std::to_string(f.index) + ']';
      }
      if (out.size() > 200) return out.substr(0, 200) + "...";
    }
    return out;
  }

  std::vector<Frame> frames_;
  std::string key_;
};

}  // namespace

std::optional<std::string> FindDuplicateKey(std::string_view json, std::size_t max_depth) {
  boost::json::parse_options opts;
  opts.max_depth = max_depth;
  boost::json::basic_parser<DuplicateFinder> p(opts);
  error_code ec;
  p.write_some(false, json.data(), json.size(), ec);
  return std::move(p.handler().duplicate);
}

}  // namespace lattice
