#pragma once
// Shared by the in-process tests of daemon parts (smtp_session_test, imap_session_test,
// maintenance_test): the client's end of a socketpair whose other end a session serves in
// process, the escapes of raw script lines, the scripts of a folder, and a test config.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.hpp"

namespace mailstead::testing {

// "\r \n \0 \\ \xHH" in a script's raw line, as bytes.
inline std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    if (c == 'r')
      out += '\r';
    else if (c == 'n')
      out += '\n';
    else if (c == '0')
      out += '\0';
    else if (c == 'x' && i + 2 < text.size() + 1) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else
      out += c;
  }
  return out;
}

// Blocking reads and writes on the client's end of the pair.
class ScriptClient {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  explicit ScriptClient(Socket socket) : socket_(std::move(socket)) {
    timeval timeout{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  void send(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }
  // The next line without CRLF, or nullopt when the server closed the connection.
  std::optional<std::string> line() {
    for (;;) {
      if (auto end = buffer_.find("\r\n"); end != std::string::npos) {
        auto line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return line;
      }
      char chunk[4096];
      // recv() itself, not Asio's read: SO_RCVTIMEO must end the wait (Asio would poll on).
      auto n = ::recv(socket_.native_handle(), chunk, sizeof(chunk), 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  std::string unread() const { return buffer_; }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  Socket socket_;
  std::string buffer_;
};

// A config for an in-process daemon part: `sections` (TOML) after a [server] section rooted
// in `dir`, whose [tls] files are placeholders (nothing here makes a handshake).
inline std::unique_ptr<config::Config> test_config(const std::filesystem::path& dir, const std::string& sections) {
  std::filesystem::create_directories(dir / "tls");
  for (auto name : {"cert.pem", "key.pem"}) std::ofstream(dir / "tls" / name) << "placeholder\n";
  auto loaded = config::load_config_text(
      "[server]\nhostname = \"mail.example.test\"\nuser = \"\"\ndata_dir = \"data\"\n"
      "[tls]\ncertificate = \"tls/cert.pem\"\nprivate_key = \"tls/key.pem\"\n" +
          sections,
      "test.toml", dir);
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
  return loaded.config ? std::make_unique<config::Config>(*loaded.config) : nullptr;
}

// The scripts of tests/unit/<folder>, sorted: the parameters of a scripted test suite.
inline std::vector<std::string> script_names(const std::string& folder) {
  std::vector<std::string> out;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(MAILSTEAD_SOURCE_DIR) / "tests/unit" / folder))
    out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// "data_errors.txt" -> "data_errors": a script's test name.
inline std::string script_test_name(const ::testing::TestParamInfo<std::string>& param) {
  auto name = param.param.substr(0, param.param.find('.'));
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

}  // namespace mailstead::testing
