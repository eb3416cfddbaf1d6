#include "auth/email.h"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <vector>

namespace lattice::auth {
namespace {

struct Range {
  char32_t low;
  char32_t high;
};

bool InRanges(char32_t c, std::initializer_list<Range> ranges) {
  for (const Range& r : ranges)
    if (c >= r.low && c <= r.high) return true;
  return false;
}

// Decodes strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
std::optional<std::vector<char32_t>> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t c = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      len = 1, c = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, c = b0 & 0x07, min = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return std::nullopt;
      c = (c << 6) | (b & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
    out.push_back(c);
    i += len;
  }
  return out;
}

// Controls, invisible and format characters (general categories Cc, Cf, Zs/Zl/Zp other than
// ' ', and the default-ignorable fillers), private use and noncharacters.
bool IsHidden(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return true;
  if ((c & 0xFFFE) == 0xFFFE || (c >= 0xFDD0 && c <= 0xFDEF)) return true;  // noncharacters
  return InRanges(c,
                  {{0x034F, 0x034F},   {0x061C, 0x061C},   {0x115F, 0x1160},   {0x1680, 0x1680},
                   {0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x2000, 0x200F},   {0x2028, 0x202F},
                   {0x205F, 0x206F},   {0x3000, 0x3000},   {0x3164, 0x3164},   {0xE000, 0xF8FF},
                   {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFFD},
                   {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
                   {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF}, {0xF0000, 0x10FFFF}});
}

enum class Script {
  kCommon,  // digits, punctuation, symbols, combining marks: go with any script
  kLatin,
  kGreek,
  kCyrillic,
  kArmenian,
  kHebrew,
  kArabic,
  kDevanagari,
  kThai,
  kGeorgian,
  kHangul,
  kHiragana,
  kKatakana,
  kBopomofo,
  kHan,
  kOther,  // a letter of a script this table does not name
};

Script ScriptOf(char32_t c) {
  if (c < 0x80) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return letter ? Script::kLatin : Script::kCommon;
  }
  if (c == 0xD7 || c == 0xF7) return Script::kCommon;
  if (InRanges(c, {{0xAA, 0xAA},
                   {0xBA, 0xBA},
                   {0xC0, 0x2AF},
                   {0x1D00, 0x1D7F},
                   {0x1E00, 0x1EFF},
                   {0x2C60, 0x2C7F},
                   {0xA720, 0xA7FF},
                   {0xAB30, 0xAB6F},
                   {0xFF21, 0xFF3A},
                   {0xFF41, 0xFF5A}}))
    return Script::kLatin;
  if (InRanges(c, {{0x80, 0xBF}, {0x2B0, 0x36F}, {0x2000, 0x2BFF}, {0x3000, 0x303F}}))
    return Script::kCommon;
  if (InRanges(c, {{0x370, 0x3FF}, {0x1F00, 0x1FFF}})) return Script::kGreek;
  if (InRanges(c, {{0x400, 0x52F}, {0x1C80, 0x1C8F}, {0x2DE0, 0x2DFF}, {0xA640, 0xA69F}}))
    return Script::kCyrillic;
  if (InRanges(c, {{0x530, 0x58F}, {0xFB13, 0xFB17}})) return Script::kArmenian;
  if (InRanges(c, {{0x590, 0x5FF}, {0xFB1D, 0xFB4F}})) return Script::kHebrew;
  if (InRanges(
          c, {{0x600, 0x6FF}, {0x750, 0x77F}, {0x8A0, 0x8FF}, {0xFB50, 0xFDFF}, {0xFE70, 0xFEFE}}))
    return Script::kArabic;
  if (InRanges(c, {{0x900, 0x97F}})) return Script::kDevanagari;
  if (InRanges(c, {{0xE00, 0xE7F}})) return Script::kThai;
  if (InRanges(c, {{0x10A0, 0x10FF}, {0x2D00, 0x2D2F}})) return Script::kGeorgian;
  if (InRanges(c, {{0x1100, 0x11FF}, {0x3130, 0x318F}, {0xAC00, 0xD7AF}})) return Script::kHangul;
  if (InRanges(c, {{0x3040, 0x309F}})) return Script::kHiragana;
  if (InRanges(c, {{0x30A0, 0x30FF}, {0x31F0, 0x31FF}, {0xFF66, 0xFF9F}})) return Script::kKatakana;
  if (InRanges(c, {{0x3100, 0x312F}, {0x31A0, 0x31BF}})) return Script::kBopomofo;
  if (InRanges(c, {{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x3FFFF}}))
    return Script::kHan;
  if (InRanges(c, {{0xFF00, 0xFFEF}})) return Script::kCommon;
  return Script::kOther;
}

bool SubsetOf(const std::set<Script>& s, std::initializer_list<Script> allowed) {
  for (Script x : s) {
    bool found = false;
    for (Script a : allowed) found = found || a == x;
    if (!found) return false;
  }
  return true;
}

// One script per label, or a combination UTS #39's "highly restrictive" level admits.
bool SingleScript(const std::vector<char32_t>& label) {
  std::set<Script> scripts;
  for (char32_t c : label)
    if (Script s = ScriptOf(c); s != Script::kCommon) scripts.insert(s);
  if (scripts.size() <= 1) return true;
  scripts.erase(Script::kLatin);
  return SubsetOf(scripts, {Script::kHan, Script::kHiragana, Script::kKatakana}) ||
         SubsetOf(scripts, {Script::kHan, Script::kBopomofo}) ||
         SubsetOf(scripts, {Script::kHan, Script::kHangul});
}

}  // namespace

std::string EmailViolation(std::string_view email) {
  auto cps = DecodeUtf8(email);
  if (!cps) return "must be valid UTF-8";
  for (char32_t c : *cps)
    if (IsHidden(c))
      return "must not contain control, invisible or bidirectional formatting characters";
  std::vector<char32_t> label;
  for (std::size_t i = 0; i <= cps->size(); ++i) {
    if (i == cps->size() || (*cps)[i] == U'@' || (*cps)[i] == U'.') {
      if (!SingleScript(label))
        return "must not mix scripts (such as Latin with Cyrillic or Greek) within one part "
               "of the address";
      label.clear();
    } else {
      label.push_back((*cps)[i]);
    }
  }
  return "";
}

}  // namespace lattice::auth
