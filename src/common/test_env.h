// For tests that need a real component (the Docker engine, an image): skip with the reason on a
// developer's machine that lacks it, but fail when LATTICE_REQUIRE_DOCKER is set (the project's
// test command sets it after starting the engine), so CI can never pass by skipping.
// Use like GTEST_SKIP(): `LATTICE_SKIP_UNLESS_REQUIRED() << "why";`
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#define LATTICE_SKIP_UNLESS_REQUIRED()                        \
  return ::testing::internal::AssertHelper(                   \
             std::getenv("LATTICE_REQUIRE_DOCKER") != nullptr \
                 ? ::testing::TestPartResult::kFatalFailure   \
                 : ::testing::TestPartResult::kSkip,          \
             __FILE__, __LINE__, "needs a component that is missing") = ::testing::Message()
