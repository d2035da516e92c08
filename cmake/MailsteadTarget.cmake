# Settings every mailstead target shares: strict warnings on our own code only (third-party
# headers come in as SYSTEM includes), and the repository root as the include root, so that
# includes read `#include "common/config/config.hpp"`.
function(mailstead_target target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Wpedantic
                                           -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE
                                           # g++ 12 reports members of a std::variant as maybe-uninitialized
                                           # where they cannot be (seen with Result<Message>); a false
                                           # positive we cannot act on must not fail the build.
                                           -Wno-maybe-uninitialized
                                           # ...and Asio's coroutine frame operator delete as
                                           # mismatched with its operator new (it is not).
                                           -Wno-mismatched-new-delete)
  endif()
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/generated)
endfunction()

# Precompiled headers. A file that talks to the network spent about 3 s of its compile in Asio,
# fmt and the standard library before it read a line of ours, a unit test file as long in
# GoogleTest, and the test command compiles three configurations on two cores. Two header sets,
# each compiled once per configuration by the target that owns it and reused by the targets
# listed after it, which must have the same flags and definitions (GCC refuses a header compiled
# otherwise, and -Winvalid-pch with -Werror makes that an error rather than a slow build):
#   "base": fmt and the standard library, owned by mailstead_storage (not mailstead_base, whose
#           toml++ definitions would make the header unusable for the others);
#   "net":  that and Asio with OpenSSL (common/net/asio.hpp), owned by mailstead_net.
# Every file still includes what it uses (tests/layers/check_layers.py reads the includes); the
# header sets only make including it cheap. Measured on the normal build, two cores: the
# libraries' compile time went from 965 s to 539 s of CPU.
set(MAILSTEAD_PCH_BASE <algorithm> <chrono> <cstdint> <functional> <map> <memory> <optional> <span>
                       <string> <string_view> <utility> <variant> <vector> <fmt/format.h>)
function(mailstead_precompile target set)
  # The fuzz build compiles a few small parser libraries, and reusing a header from
  # mailstead_storage would make it compile the whole store as well.
  if(MAILSTEAD_FUZZ)
    return()
  endif()
  if(set STREQUAL "base" AND NOT target STREQUAL "mailstead_storage")
    target_precompile_headers(${target} REUSE_FROM mailstead_storage)
  elseif(set STREQUAL "net" AND NOT target STREQUAL "mailstead_net")
    target_precompile_headers(${target} REUSE_FROM mailstead_net)
  elseif(set STREQUAL "base")
    target_precompile_headers(${target} PRIVATE ${MAILSTEAD_PCH_BASE})
  elseif(set STREQUAL "net")
    target_precompile_headers(${target} PRIVATE ${MAILSTEAD_PCH_BASE} "${PROJECT_SOURCE_DIR}/common/net/asio.hpp")
  else()
    message(FATAL_ERROR "mailstead_precompile: no header set ${set}")
  endif()
endfunction()
