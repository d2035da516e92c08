#pragma once
// Protocol-neutral outcomes of storage operations. Expected outcomes (a user that does not
// exist, a quota that would be exceeded) come back as a Failure inside Result; the protocols
// map each Errc to their own reply in one function per daemon. Failures of the environment
// itself (disk full, corruption, a newer schema) are thrown as StorageError with the same codes.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mailstead::storage {

enum class Errc {
  not_found,
  already_exists,
  invalid_argument,  // a name or address that can never be valid
  not_empty,         // e.g. a domain that still has users
  over_quota,
  no_space,          // the disk or the store's map is full: temporary, retry later
  limit,             // an object reached a fixed bound (a mailbox's UIDs): not cured by retrying
  version_mismatch,  // the store was written by another version of mailstead
  corrupt,
  io_error,
};
std::string_view to_string(Errc code);

struct Failure {
  Errc code;
  std::string detail;  // for people: what, and which name
};

class StorageError : public std::runtime_error {
 public:
  StorageError(Errc code, const std::string& detail) : std::runtime_error(detail), code_(code) {}
  Errc code() const { return code_; }

 private:
  Errc code_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Failure failure) : v_(std::move(failure)) {}  // NOLINT(google-explicit-constructor)

  explicit operator bool() const { return v_.index() == 0; }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Failure& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Failure failure) : failure_(std::move(failure)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  explicit operator bool() const { return ok_; }
  const Failure& error() const { return failure_; }

 private:
  Failure failure_{Errc::not_found, ""};
  bool ok_ = true;
};

inline Failure fail(Errc code, std::string detail) {
  return Failure{code, std::move(detail)};
}

}  // namespace mailstead::storage
