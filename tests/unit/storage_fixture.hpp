#pragma once
// A store in a fresh temporary directory, removed after the test.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "storage/result.hpp"
#include "storage/store.hpp"

namespace mailstead::storage::testing {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("mailstead-store-" + std::to_string(::getpid()) + "-" + info->test_suite_name() + "-" + info->name());
    std::filesystem::remove_all(dir_);
    options_.dir = dir_;
    options_.map_size = std::uint64_t{8} << 20;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Store& store() {
    if (!store_) store_ = Store::open(options_);
    return *store_;
  }
  void reopen() {
    store_.reset();
    store();
  }

  std::filesystem::path dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

// The value of a Result that must be ok; otherwise the test fails with the error's detail.
template <class T>
T ok(Result<T> result) {
  if (!result) throw std::runtime_error("unexpected storage failure: " + result.error().detail);
  return std::move(*result);
}
inline void ok(Result<void> result) {
  if (!result) throw std::runtime_error("unexpected storage failure: " + result.error().detail);
}
template <class T>
Errc error_of(const Result<T>& result) {
  if (result) throw std::runtime_error("expected a failure, got success");
  return result.error().code;
}

}  // namespace mailstead::storage::testing
