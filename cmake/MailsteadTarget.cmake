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
