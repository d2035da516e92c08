// DKIM canonicalisation and signing against the published vectors: RFC 6376 §3.4.5 and
// RFC 8463 Appendix A (its keys, its message, and the b= values it prints).
#include <gtest/gtest.h>

#include <sstream>

#include "common/dkim/canon.hpp"
#include "common/dkim/key.hpp"
#include "common/dkim/signer.hpp"
#include "common/dkim/verifier.hpp"
#include "common/sasl/base64.hpp"

namespace mailstead::dkim {
namespace {

std::string b64(std::string_view bytes) {
  return sasl::base64_encode(bytes);
}

std::string canonical(std::string_view body, Canon canon) {
  std::string out;
  canonical_body(body, canon, [&](std::string_view piece) { out += piece; });
  return out;
}

// RFC 8463 Appendix A.1 and A.3: the keys, and the message both signatures cover.
constexpr std::string_view kEd25519Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr std::string_view kRsaKey =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";
constexpr std::string_view kHeader =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n";
constexpr std::string_view kBody = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

// The two DKIM-Signature fields of RFC 8463 A.3, as printed.
constexpr std::string_view kEd25519Field =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
constexpr std::string_view kRsaField =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
const std::vector<std::string> kRfcNames = {"from", "to", "subject", "date", "message-id", "from", "subject", "date"};

std::string b_value(std::string_view field) {
  auto b = field.rfind("b=");
  std::string out;
  for (char c : field.substr(b + 2))
    if (c != ' ' && c != '\r' && c != '\n' && c != '\t') out += c;
  return out;
}

TEST(DkimCanon, Rfc6376Examples) {
  // §3.4.5
  auto fields = split_fields("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(canonical_field(fields[0], Canon::relaxed), "a:X\r\n");
  EXPECT_EQ(canonical_field(fields[1], Canon::relaxed), "b:Y Z\r\n");
  EXPECT_EQ(canonical_field(fields[0], Canon::simple), "A: X\r\n");
  EXPECT_EQ(canonical_field(fields[1], Canon::simple), "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canonical(" C \r\nD \t E\r\n\r\n\r\n", Canon::relaxed), " C\r\nD E\r\n");
  EXPECT_EQ(canonical(" C \r\nD \t E\r\n\r\n\r\n", Canon::simple), " C \r\nD \t E\r\n");
}

TEST(DkimCanon, EmptyBodiesAndMissingFinalCrlf) {
  // §3.4.3: an empty body is CRLF when simple; §3.4.4: nothing when relaxed.
  EXPECT_EQ(b64(body_hash("", Canon::simple)), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(b64(body_hash("", Canon::relaxed)), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(canonical("\r\n\r\n", Canon::simple), "\r\n");
  EXPECT_EQ(canonical(" \t\r\n", Canon::relaxed), "");
  EXPECT_EQ(canonical(" \t\r\n", Canon::simple), " \t\r\n");  // not empty: whitespace is content
  EXPECT_EQ(canonical("last line", Canon::relaxed), "last line\r\n");
  EXPECT_EQ(canonical("a\r\n\r\nb", Canon::simple), "a\r\n\r\nb\r\n");
}

TEST(DkimCanon, LengthLimitCutsTheCanonicalBody) {
  std::string out;
  auto total = canonical_body(
      "abc  def\r\nghi\r\n", Canon::relaxed, [&](std::string_view p) { out += p; }, 5);
  EXPECT_EQ(out, "abc d");
  EXPECT_EQ(total, std::string_view("abc def\r\nghi\r\n").size());
}

TEST(DkimCanon, RepeatedNamesAreTakenFromTheBottomAndMissingOnesAreNothing) {
  auto fields = split_fields("Received: 1\r\nX: first\r\nSubject: s\r\nx: second\r\n\r\n");
  auto picked = select_fields(fields, {"x", "X", "x", "subject"});
  ASSERT_EQ(picked.size(), 4u);
  EXPECT_EQ(picked[0]->raw, "x: second");
  EXPECT_EQ(picked[1]->raw, "X: first");
  EXPECT_EQ(picked[2], nullptr);  // oversigned: no third X
  EXPECT_EQ(picked[3]->raw, "Subject: s");
}

TEST(DkimSign, Rfc8463BodyHash) {
  EXPECT_EQ(b64(body_hash(kBody, Canon::relaxed)), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

// The header hash and both signature algorithms, byte for byte: the RFC's own fields with b=
// emptied are signed with the RFC's keys and must give the b= values it prints.
TEST(DkimSign, Rfc8463SignaturesAreReproduced) {
  auto fields = split_fields(kHeader);
  auto seed = sasl::base64_decode(kEd25519Seed);
  ASSERT_TRUE(seed);
  auto ed = PrivateKey::from_ed25519_seed(*seed);
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->public_key_base64(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  auto data = signed_data(fields, kRfcNames, {"DKIM-Signature", kEd25519Field}, Canon::relaxed);
  EXPECT_EQ(b64(ed->sign(data)), b_value(kEd25519Field));

  auto rsa = PrivateKey::from_pem(kRsaKey);
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->algorithm(), Algorithm::rsa_sha256);
  EXPECT_EQ(rsa->bits(), 1024u);
  data = signed_data(fields, kRfcNames, {"DKIM-Signature", kRsaField}, Canon::relaxed);
  EXPECT_EQ(b64(rsa->sign(data)), b_value(kRsaField));
  auto key = sasl::base64_decode(rsa->public_key_base64());
  ASSERT_TRUE(key);
  EXPECT_TRUE(verify_signature(Algorithm::rsa_sha256, *key, data, rsa->sign(data)));
  // RFC 8301 §3.2: 1024 bits is the least a verifier accepts.
  EXPECT_FALSE(verify_signature(Algorithm::rsa_sha256, *key, data, rsa->sign(data), 2048));
}

TEST(DkimSign, WithoutBValueKeepsEverythingElse) {
  EXPECT_EQ(without_b_value("DKIM-Signature: a=x; b=abc\r\n def; bh=zz"), "DKIM-Signature: a=x; b=; bh=zz");
  EXPECT_EQ(without_b_value("DKIM-Signature: v=1; bh=q; b = abc"), "DKIM-Signature: v=1; bh=q; b =");
}

// A message signed here verifies: the field is parsed back, its data recomputed, and the
// signature checked with the public key, for both algorithms; every line fits 78 characters.
TEST(DkimSign, SignedMessagesVerifyWithBothAlgorithms) {
  std::string message = std::string(kHeader) + std::string(kBody);
  SignOptions options;
  options.headers = {"From", "To", "Subject", "Date", "Message-ID", "Reply-To"};
  options.oversign = {"from", "subject"};
  options.now = 1800000000;
  options.expire_after = 86400;
  for (auto algorithm : {Algorithm::rsa_sha256, Algorithm::ed25519_sha256}) {
    Signer signer{"football.example.com", "sel-1", PrivateKey::generate(algorithm, 2048)};
    auto field = sign_message(message, signer, options);
    ASSERT_TRUE(field.ends_with("\r\n"));
    std::istringstream lines(field);
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 79u) << line;
    std::string unfolded;  // folding is CRLF TAB where a space or nothing was
    for (std::size_t i = 0; i < field.size(); ++i) {
      if (field.compare(i, 3, "\r\n\t") == 0) {
        i += 2;
        continue;
      }
      unfolded += field[i];
    }
    EXPECT_NE(unfolded.find("h=from:from:subject:subject:to:date:message-id;"), std::string::npos) << field;
    EXPECT_NE(unfolded.find("t=1800000000;"), std::string::npos) << field;
    EXPECT_NE(unfolded.find("x=1800086400;"), std::string::npos) << field;
    EXPECT_NE(unfolded.find("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"), std::string::npos) << field;
    auto raw = std::string_view(field).substr(0, field.size() - 2);
    auto data = signed_data(split_fields(kHeader), signed_names(split_fields(kHeader), options),
                            {"DKIM-Signature", raw}, Canon::relaxed);
    auto signature = sasl::base64_decode(b_value(raw));
    ASSERT_TRUE(signature);
    auto key = sasl::base64_decode(signer.key.public_key_base64());
    ASSERT_TRUE(key);
    EXPECT_TRUE(verify_signature(algorithm, *key, data, *signature));
    // A changed header no longer verifies.
    std::string forged(kHeader);
    forged.replace(forged.find("dinner"), 6, "lunch!");
    auto forged_data = signed_data(split_fields(forged), signed_names(split_fields(forged), options),
                                   {"DKIM-Signature", raw}, Canon::relaxed);
    EXPECT_FALSE(verify_signature(algorithm, *key, forged_data, *signature));
  }
}

TEST(DkimKey, PemRoundTripAndDnsRecord) {
  auto key = PrivateKey::generate(Algorithm::ed25519_sha256);
  auto again = PrivateKey::from_pem(key.pem());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_key_base64(), key.public_key_base64());
  EXPECT_EQ(key.dns_record(), "v=DKIM1; k=ed25519; p=" + key.public_key_base64());
  EXPECT_EQ(PrivateKey::generate(Algorithm::rsa_sha256, 2048).bits(), 2048u);
  EXPECT_FALSE(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"));
}

// --- verification (RFC 6376 §6) ---

// RFC 8463 A.2: the two key records.
constexpr std::string_view kEd25519Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
std::string rsa_record() {
  return "v=DKIM1; k=rsa; p=" + PrivateKey::from_pem(kRsaKey)->public_key_base64();
}

// The message of RFC 8463 A.3 with both its signatures on top.
std::string rfc8463_message() {
  return std::string(kEd25519Field) + "\r\n" + std::string(kRsaField) + "\r\n" + std::string(kHeader) +
         std::string(kBody);
}

Verdict check(const std::string& message, std::size_t index, std::string_view record, std::int64_t now = 1528637909) {
  Message m(message);
  auto sig = parse_signature(m.fields[index].raw);
  if (auto* why = std::get_if<std::string>(&sig)) return {Result::permerror, *why};
  auto key = choose_key({std::string(record)});
  if (auto* verdict = std::get_if<Verdict>(&key)) return *verdict;
  return verify(m, index, std::get<Signature>(sig), std::get<KeyRecord>(key), now);
}

TEST(DkimVerify, Rfc8463SignaturesVerify) {
  auto message = rfc8463_message();
  auto ed = check(message, 0, kEd25519Record);
  EXPECT_EQ(ed.result, Result::pass) << ed.reason;
  auto rsa = check(message, 1, rsa_record());
  EXPECT_EQ(rsa.result, Result::pass) << rsa.reason;
  auto parsed = std::get<Signature>(parse_signature(kEd25519Field));
  EXPECT_EQ(parsed.domain, "football.example.com");
  EXPECT_EQ(parsed.selector, "brisbane");
  EXPECT_EQ(parsed.auid, "@football.example.com");
  EXPECT_EQ(parsed.headers, kRfcNames);  // "from : to" read with its spaces
}

TEST(DkimVerify, SignaturesOfOneMessageShareItsBodyHash) {
  auto message = rfc8463_message();
  Message m(message);
  auto ed = std::get<Signature>(parse_signature(m.fields[0].raw));
  auto rsa = std::get<Signature>(parse_signature(m.fields[1].raw));
  auto ed_key = std::get<KeyRecord>(choose_key({std::string(kEd25519Record)}));
  auto rsa_key = std::get<KeyRecord>(choose_key({rsa_record()}));
  EXPECT_EQ(verify(m, 0, ed, ed_key, 1528637909).result, Result::pass);
  EXPECT_EQ(verify(m, 1, rsa, rsa_key, 1528637909).result, Result::pass);
  EXPECT_EQ(m.body_hashes.size(), 1u);  // both relaxed, no l=: one pass over the body
}

TEST(DkimVerify, ChangesToTheSignedPartsFail) {
  auto message = rfc8463_message();
  auto body_changed = message;
  body_changed.replace(body_changed.find("hungry"), 6, "thirst");
  EXPECT_EQ(check(body_changed, 0, kEd25519Record).reason, "body hash did not verify");
  auto header_changed = message;
  header_changed.replace(header_changed.find("Suzie Q"), 7, "Suzie R");
  EXPECT_EQ(check(header_changed, 0, kEd25519Record).reason, "signature did not verify");
  // Relaxed canonicalisation: whitespace changes in transit are not changes.
  auto rewrapped = message;
  rewrapped.replace(rewrapped.find("Subject: Is"), 11, "subject:   Is");
  EXPECT_EQ(check(rewrapped, 0, kEd25519Record).result, Result::pass);
  // A second From above the signed one: oversigning (from twice in h=) makes it fail.
  auto added = message;
  added.insert(added.find("From: Joe"), "From: Mallory <m@evil.example>\r\n");
  EXPECT_EQ(check(added, 0, kEd25519Record).result, Result::fail);
}

TEST(DkimVerify, KeysAndRecordsThatCannotVerify) {
  auto message = rfc8463_message();
  // The wrong key, a revoked key, a key of the other type, a record that is not a key.
  EXPECT_EQ(
      check(message, 0, "v=DKIM1; k=ed25519; p=" + PrivateKey::generate(Algorithm::ed25519_sha256).public_key_base64())
          .result,
      Result::fail);
  EXPECT_EQ(check(message, 0, "v=DKIM1; k=ed25519; p=").reason, "key revoked");
  EXPECT_EQ(check(message, 0, rsa_record()).reason, "key type does not match a=");
  EXPECT_EQ(check(message, 0, "v=spf1 -all").result, Result::permerror);
  EXPECT_EQ(check(message, 0, "k=ed25519; v=DKIM1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").reason,
            "not a DKIM1 key record");  // §3.6.1: v= first
  EXPECT_EQ(check(message, 0, "v=DKIM1; h=sha1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").result,
            Result::permerror);
  EXPECT_EQ(check(message, 0, "v=DKIM1; s=tlsrpt; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").reason,
            "key is not for email");
  // Of several TXT records, the first that reads as a key.
  auto chosen = choose_key({"v=spf1 -all", std::string(kEd25519Record)});
  ASSERT_TRUE(std::holds_alternative<KeyRecord>(chosen));
}

TEST(DkimVerify, RsaKeysUnder1024BitsAreRefused) {
  // RFC 8301 §3.2. A 512-bit key (made for this test; PrivateKey::generate refuses to make one)
  // signs correctly, and the verdict still refuses it, saying why.
  constexpr std::string_view kWeakKey =
      "-----BEGIN PRIVATE KEY-----\n"
      "MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA32f4fNI/65NnXVJN\n"
      "ULi47V/dr/U0VLjsVYLTYVKvq98IUAEHkvzN15M81O2Zujcs0xpH6hGDcnZPIGCe\n"
      "9samTwIDAQABAkEAlL7R+LG4M26CbOUmay+CmTGyFbzKKfqyCEFB4lO+eUyY44Pr\n"
      "/H5nwtKPpTyoJY2kdEPedX1UlPDLSL1+JEqPcQIhAPP/SIS1B62NKbZPmxF6D5tU\n"
      "Bvw6OcaT7h1s5HijjD0HAiEA6mVhCJTyuaAVfGhTnwfE/lU2qCJ1cDMeOExV1wGu\n"
      "QnkCIQDKFzHwQKR4WYgn6S1Nv2R3yZPziyJZWCMLmiptxUAdNwIgBnLRj5Xhc5/m\n"
      "12xbWJWzIrgfb9K63mJZo3zeI7MlIykCIQC4LTXwQcxW9lmxSuQzl7TYxmrOx2j0\n"
      "IA3LeuM8AVqhzw==\n"
      "-----END PRIVATE KEY-----\n";
  auto weak = PrivateKey::from_pem(kWeakKey);
  ASSERT_TRUE(weak);
  EXPECT_EQ(weak->bits(), 512u);
  std::string message = std::string(kHeader) + std::string(kBody);
  auto signed_message = sign_message(message, {"example.com", "s", *weak}, {{"From"}, {}, 1, 0}) + message;
  auto verdict = check(signed_message, 0, "p=" + weak->public_key_base64());
  EXPECT_EQ(verdict.result, Result::permerror);
  EXPECT_EQ(verdict.reason, "key of 512 bits is too weak (RFC 8301)");
  // The same message signed by a 1024-bit key passes: 1024 is the least accepted.
  auto fair = PrivateKey::generate(Algorithm::rsa_sha256, 1024);
  signed_message = sign_message(message, {"example.com", "s", fair}, {{"From"}, {}, 1, 0}) + message;
  EXPECT_EQ(check(signed_message, 0, "p=" + fair.public_key_base64()).result, Result::pass);
}

TEST(DkimVerify, SignatureFieldsThatAreRefused) {
  auto base = std::string(kEd25519Field);
  auto with = [&](std::string_view from, std::string_view to) {
    auto s = base;
    s.replace(s.find(from), from.size(), to);
    auto parsed = parse_signature(s);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string("parsed");
  };
  EXPECT_EQ(with("v=1", "v=2"), "unknown version");
  EXPECT_EQ(with("a=ed25519-sha256", "a=rsa-sha1"), "rsa-sha1 is not accepted (RFC 8301)");
  EXPECT_EQ(with("h=from : to :", "h=to :"), "parsed");  // from is still signed further on
  EXPECT_EQ(with("h=from : to :\r\n subject : date : message-id : from : subject : date;", "h=to : subject;"),
            "From is not signed");
  EXPECT_EQ(with("i=@football.example.com", "i=@example.com"), "i= is not within d=");
  EXPECT_EQ(with("i=@football.example.com", "i=joe@sub.football.example.com"), "parsed");
  EXPECT_EQ(with("t=1528637909;", "t=1528637909; x=1528637900;"), "x= is not after t=");
  EXPECT_EQ(with("q=dns/txt", "q=dns/txt; q=dns/txt"), "malformed tag list");  // §3.2: a tag once
  EXPECT_EQ(with("s=brisbane;", ""), "no s= tag");
  EXPECT_EQ(with("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=", "bh=AAAA"), "invalid bh=");
  EXPECT_EQ(with("c=relaxed/relaxed", "c=relaxed/loose"), "unknown canonicalisation relaxed/loose");
  std::string many = "h=from";
  for (std::size_t i = 0; i < kMaxSignedFields; ++i) many += ":to";
  EXPECT_EQ(with("h=from : to :\r\n subject : date : message-id : from : subject : date", many),
            "h= names more than 512 fields");
}

TEST(DkimVerify, ExpiredSignaturesFail) {
  std::string message = std::string(kHeader) + std::string(kBody);
  auto key = PrivateKey::generate(Algorithm::ed25519_sha256);
  auto signed_message = sign_message(message, {"example.com", "s", key}, {{"From"}, {}, 1000, 60}) + message;
  auto record = "k=ed25519; p=" + key.public_key_base64();
  EXPECT_EQ(check(signed_message, 0, record, 1060).result, Result::pass);
  EXPECT_EQ(check(signed_message, 0, record, 1061).reason, "signature expired");
}

TEST(DkimVerify, LengthLimitedSignaturesAreOnlyPolicyWhenTextFollows) {
  // §8.2: with l=, anything may be appended below what was signed.
  std::string message = std::string(kHeader) + std::string(kBody);
  auto key = PrivateKey::generate(Algorithm::ed25519_sha256);
  // Re-signing with l= is done by hand: the signer never writes l=.
  Message m(message);
  Signature sig;
  sig.algorithm = Algorithm::ed25519_sha256;
  sig.header_canon = sig.body_canon = Canon::relaxed;
  sig.domain = "example.com";
  sig.selector = "s";
  sig.auid = "@example.com";
  sig.headers = {"from"};
  sig.length = 10;
  std::string canonical_prefix;
  canonical_body(
      kBody, Canon::relaxed, [&](std::string_view p) { canonical_prefix += p; }, 10);
  sig.body_hash = sha256(canonical_prefix);
  std::string raw =
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=s; h=from; l=10; "
      "bh=" +
      b64(sig.body_hash) + "; b=";
  auto data = signed_data(m.fields, sig.headers, {"DKIM-Signature", raw}, Canon::relaxed);
  sig.signature = key.sign(data);
  auto full = raw + b64(sig.signature) + "\r\n" + message;
  Message with_field(full);
  KeyRecord record{Algorithm::ed25519_sha256, *sasl::base64_decode(key.public_key_base64()), false, false};
  auto verdict = verify(with_field, 0, sig, record, 1);
  EXPECT_EQ(verdict.result, Result::policy);
  EXPECT_EQ(verdict.reason, "l= leaves " + std::to_string(canonical(kBody, Canon::relaxed).size() - 10) +
                                " bytes of the body unsigned");
  sig.length = 100000;
  EXPECT_EQ(verify(with_field, 0, sig, record, 1).reason, "l= is longer than the body");
}

}  // namespace
}  // namespace mailstead::dkim
