// Result<T> and Status: the one error type on every path that touches the network, the disk,
// Docker or user input. An Error carries a category (which maps to an HTTP status at the API
// edge), a human message, and optional per-field details for validation failures.
// Exceptions are reserved for fatal start-up errors.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace lattice {

enum class ErrorCode {
  kInvalidArgument,   // 400: the input is malformed or fails validation
  kUnauthenticated,   // 401: no, or a bad, credential
  kPermissionDenied,  // 403: authenticated but not allowed
  kNotFound,          // 404
  kConflict,          // 409: unique constraint, wrong state
  kTooLarge,          // 413
  kUnsupportedMedia,  // 415
  kRateLimited,       // 429
  kUnavailable,       // 503: a dependency (store, Docker) cannot be reached
  kInternal,          // 500: a bug or an unexpected failure
};

struct FieldError {
  std::string field;
  std::string message;
};

// An extension member of the problem response (RFC 9457 section 3.2), e.g. a quota's limit.
struct ProblemMember {
  std::string name;
  std::variant<std::int64_t, double, std::string> value;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<FieldError> fields;  // set for kInvalidArgument validation failures
  int retry_after_seconds = 0;     // set for kRateLimited; may be for kUnavailable
  // A more specific problem type than the status gives ("quota-exceeded" becomes
  // `urn:lattice:problem:quota-exceeded`); lower-case letters and '-'. Empty: from the status.
  std::string type;
  std::vector<ProblemMember> members;  // extension members of the problem response

  static Error Invalid(std::string msg, std::vector<FieldError> fields = {}) {
    Error e = Make(ErrorCode::kInvalidArgument, std::move(msg));
    e.fields = std::move(fields);
    return e;
  }
  static Error Unauthenticated(std::string msg) {
    return Make(ErrorCode::kUnauthenticated, std::move(msg));
  }
  static Error Forbidden(std::string msg) {
    return Make(ErrorCode::kPermissionDenied, std::move(msg));
  }
  static Error NotFound(std::string msg) { return Make(ErrorCode::kNotFound, std::move(msg)); }
  static Error Conflict(std::string msg) { return Make(ErrorCode::kConflict, std::move(msg)); }
  static Error Unavailable(std::string msg) {
    return Make(ErrorCode::kUnavailable, std::move(msg));
  }
  static Error Internal(std::string msg) { return Make(ErrorCode::kInternal, std::move(msg)); }
  static Error RateLimited(std::string msg, int retry_after) {
    Error e = Make(ErrorCode::kRateLimited, std::move(msg));
    e.retry_after_seconds = retry_after;
    return e;
  }

 private:
  static Error Make(ErrorCode code, std::string msg) {
    Error e;
    e.code = code;
    e.message = std::move(msg);
    return e;
  }
};

// Result<T>: either a value or an Error. Check ok() before value().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return {}; }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace lattice
