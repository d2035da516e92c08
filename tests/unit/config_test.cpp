#include "common/config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config/schema.hpp"

namespace mailstead::config {
namespace {

namespace fs = std::filesystem;

// A directory with a certificate and key file (contents do not matter to the loader; the TLS
// context checks them) and helpers to load config text from it.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mailstead-config-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "tls");
    std::ofstream(dir_ / "tls/cert.pem") << "cert";
    std::ofstream(dir_ / "tls/key.pem") << "key";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static constexpr std::string_view kTls = "[tls]\ncertificate = \"tls/cert.pem\"\nprivate_key = \"tls/key.pem\"\n";

  LoadResult load(std::string_view text) { return load_config_text(text, "test.toml", dir_); }

  static std::string all_errors(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    return out;
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsApplyToOmittedKeys) {
  auto r = load(kTls);
  ASSERT_TRUE(r.config) << all_errors(r);
  const auto& c = *r.config;
  EXPECT_EQ(c.server.user, "mailstead");
  EXPECT_EQ(c.server.data_dir, fs::path("/var/lib/mailstead"));
  EXPECT_FALSE(c.server.hostname.empty());  // filled from the system
  EXPECT_EQ(c.server.threads, 1u);
  EXPECT_EQ(c.log.level, LogLevel::info);
  EXPECT_EQ(c.tls.min_version, TlsVersion::tls1_2);
  EXPECT_EQ(c.limits.max_connections_per_ip, 20u);
  EXPECT_EQ(c.limits.shutdown_grace, std::chrono::seconds(10));
  ASSERT_EQ(c.smtpd.listen.size(), 2u);
  EXPECT_EQ(c.smtpd.listen[0], (Endpoint{"0.0.0.0", 25}));
  EXPECT_EQ(c.smtpd.listen[1], (Endpoint{"::", 25}));
  EXPECT_EQ(c.imapd.tls_listen[0].port, 993);
}

TEST_F(ConfigTest, ReadsEveryKindOfValue) {
  auto r = load(std::string(kTls) +
                "min_version = \"1.3\"\n"
                "[server]\nhostname = \"mx.example.test\"\nuser = \"\"\ndata_dir = \"data\"\nthreads = 4\n"
                "[log]\nlevel = \"debug\"\n"
                "[limits]\nmax_connections_per_ip = 0\nshutdown_grace = \"1m\"\n"
                "[smtpd]\nlisten = [\"127.0.0.1:2525\"]\nsubmission_listen = []\n");
  ASSERT_TRUE(r.config) << all_errors(r);
  const auto& c = *r.config;
  EXPECT_EQ(c.server.hostname, "mx.example.test");
  EXPECT_EQ(c.server.user, "");
  EXPECT_EQ(c.server.data_dir, dir_ / "data");  // relative to the config file
  EXPECT_EQ(c.tls.certificate, dir_ / "tls/cert.pem");
  EXPECT_EQ(c.server.threads, 4u);
  EXPECT_EQ(c.log.level, LogLevel::debug);
  EXPECT_EQ(c.tls.min_version, TlsVersion::tls1_3);
  EXPECT_EQ(c.limits.max_connections_per_ip, 0u);
  EXPECT_EQ(c.limits.shutdown_grace, std::chrono::seconds(60));
  EXPECT_EQ(c.smtpd.listen, (std::vector<Endpoint>{{"127.0.0.1", 2525}}));
  EXPECT_TRUE(c.smtpd.submission_listen.empty());
}

TEST_F(ConfigTest, SyntaxErrorNamesLineAndColumn) {
  auto r = load("[server]\nhostname = \"unterminated\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "test.toml");
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_GT(r.errors[0].column, 0u);
  EXPECT_TRUE(r.errors[0].to_string().starts_with("test.toml:2:")) << r.errors[0].to_string();
}

TEST_F(ConfigTest, UnknownKeyIsAnErrorWithASuggestion) {
  auto r = load(std::string(kTls) + "[server]\nhostnme = \"x\"\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, "server.hostnme");
  EXPECT_EQ(r.errors[0].line, 5u);
  EXPECT_NE(r.errors[0].message.find("did you mean \"hostname\""), std::string::npos) << r.errors[0].message;
}

TEST_F(ConfigTest, UnknownSectionIsAnError) {
  auto r = load(std::string(kTls) + "[imap]\nlisten = []\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, "imap");
  EXPECT_NE(r.errors[0].message.find("did you mean \"imapd\""), std::string::npos);
}

TEST_F(ConfigTest, SectionThatIsNotATable) {
  auto r = load(std::string("log = \"debug\"\n") + std::string(kTls));
  ASSERT_FALSE(r.config);
  EXPECT_NE(all_errors(r).find("log: must be a table"), std::string::npos) << all_errors(r);
}

TEST_F(ConfigTest, WrongTypeNamesKeyAndLine) {
  auto r = load(std::string(kTls) + "[server]\nthreads = \"four\"\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "test.toml:5:11: server.threads: expected an integer, found a string");
}

TEST_F(ConfigTest, ImpossibleValues) {
  auto r = load(std::string(kTls) +
                "[server]\nthreads = 0\n"
                "[log]\nlevel = \"verbose\"\n"
                "[limits]\nshutdown_grace = \"2h\"\ntls_handshake_timeout = \"10\"\n"
                "[imapd]\nlisten = [\"127.0.0.1:99999\"]\n");
  ASSERT_FALSE(r.config);
  auto text = all_errors(r);
  ASSERT_EQ(r.errors.size(), 5u) << text;
  EXPECT_EQ(r.errors[0].key, "server.threads");
  EXPECT_NE(r.errors[0].message.find("out of range; allowed: 1 to 64"), std::string::npos);
  EXPECT_EQ(r.errors[1].key, "log.level");
  EXPECT_NE(r.errors[1].message.find("is not one of \"debug\", \"info\", \"warn\", \"error\""), std::string::npos);
  EXPECT_EQ(r.errors[2].key, "limits.shutdown_grace");
  EXPECT_NE(r.errors[2].message.find("allowed: 0s to 1h"), std::string::npos);
  EXPECT_EQ(r.errors[3].key, "limits.tls_handshake_timeout");
  EXPECT_EQ(r.errors[4].key, "imapd.listen");
  EXPECT_NE(r.errors[4].message.find("no valid port"), std::string::npos);
}

TEST_F(ConfigTest, ListsOfNetworksAndFieldNamesCheckEachItem) {
  auto r = load(std::string(kTls) +
                "[smtpd]\ntrusted_networks = [\"192.0.2.0/24\", \"192.0.2.0/33\"]\n"
                "[dkim]\noversign = [\"From\", \"Bad:Name\"]\nheaders = \"Subject\"\n");
  ASSERT_FALSE(r.config);
  auto text = all_errors(r);
  ASSERT_EQ(r.errors.size(), 3u) << text;
  EXPECT_EQ(r.errors[0].key, "smtpd.trusted_networks");
  EXPECT_NE(r.errors[0].message.find("\"192.0.2.0/33\" is not a network like"), std::string::npos) << text;
  EXPECT_EQ(r.errors[1].key, "dkim.oversign");
  EXPECT_NE(r.errors[1].message.find("\"Bad:Name\" is not a header field name"), std::string::npos) << text;
  EXPECT_EQ(r.errors[2].key, "dkim.headers");
  EXPECT_NE(r.errors[2].message.find("expected an array of strings, each a header field name"), std::string::npos)
      << text;
}

TEST_F(ConfigTest, MissingCertificateIsAnError) {
  auto r = load("[tls]\ncertificate = \"tls/missing.pem\"\nprivate_key = \"tls/key.pem\"\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, "tls.certificate");
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_NE(r.errors[0].message.find("missing.pem\" does not exist"), std::string::npos);
}

TEST_F(ConfigTest, DefaultCertificateMissingSaysItIsTheDefault) {
  if (fs::exists("/etc/mailstead/tls/cert.pem")) GTEST_SKIP() << "this machine has a real certificate there";
  auto r = load("");
  ASSERT_FALSE(r.config);
  auto text = all_errors(r);
  EXPECT_NE(text.find("test.toml: tls.certificate: \"/etc/mailstead/tls/cert.pem\" does not exist (the default; set it "
                      "in the file)"),
            std::string::npos)
      << text;
}

TEST_F(ConfigTest, CertificateThatIsADirectory) {
  auto r = load("[tls]\ncertificate = \"tls\"\nprivate_key = \"tls/key.pem\"\n");
  ASSERT_FALSE(r.config);
  EXPECT_NE(all_errors(r).find("is not a regular file"), std::string::npos);
}

TEST_F(ConfigTest, SameAddressInTwoListenersIsAnError) {
  auto r = load(std::string(kTls) + "[pop3d]\nlisten = [\"127.0.0.1:2110\"]\n[imapd]\nlisten = [\"127.0.0.1:2110\"]\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].key, "imapd.listen");
  EXPECT_EQ(r.errors[0].message, "127.0.0.1:2110 is also in pop3d.listen");
}

TEST_F(ConfigTest, ReportsEveryErrorAtOnceInFileOrder) {
  auto r = load("[server]\nthreads = -1\nbogus = 1\n[tls]\ncertificate = 5\nprivate_key = \"tls/key.pem\"\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[1].line, 3u);
  EXPECT_EQ(r.errors[2].line, 5u);
}

TEST_F(ConfigTest, FileThatCannotBeOpened) {
  auto r = load_config_file(dir_ / "absent.toml");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].to_string().find("absent.toml: cannot open the config file"), std::string::npos);
}

TEST_F(ConfigTest, LoadsFromFileRelativeToItsDirectory) {
  std::ofstream(dir_ / "mailstead.toml") << kTls << "[server]\ndata_dir = \"var\"\n";
  auto r = load_config_file(dir_ / "mailstead.toml");
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->server.data_dir, dir_ / "var");
}

TEST(Schema, SampleParsesToTheDefaults) {
  // Every default must be valid by its own rules: load the sample with the paths made real.
  auto dir = fs::temp_directory_path() / ("mailstead-sample-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "c.pem") << "x";
  auto text = sample_config();
  for (auto [from, to] : {std::pair{"/etc/mailstead/tls/cert.pem", "c.pem"}, {"/etc/mailstead/tls/key.pem", "c.pem"}}) {
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, std::string_view(from).size(), to);
  }
  auto r = load_config_text(text, "sample", dir);
  fs::remove_all(dir);
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
}

TEST(Schema, EveryOptionIsDocumented) {
  for (const auto& section : schema()) {
    EXPECT_FALSE(section.doc.empty()) << section.name;
    for (const auto& option : section.options) EXPECT_FALSE(option.doc.empty()) << section.name << "." << option.key;
  }
}

TEST(Schema, ShippedConfigIsTheSample) {
  std::ifstream in(fs::path(MAILSTEAD_SOURCE_DIR) / "etc/mailstead.toml");
  ASSERT_TRUE(in) << "etc/mailstead.toml is missing";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), sample_config()) << "regenerate it: build/admin/mailstead config sample > etc/mailstead.toml";
}

}  // namespace
}  // namespace mailstead::config
