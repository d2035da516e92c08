// The single translation unit that compiles Asio and its SSL support
// (BOOST_ASIO_SEPARATE_COMPILATION), which keeps every other file's build fast.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
