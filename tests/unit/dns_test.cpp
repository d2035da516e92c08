// DNS responses read byte by byte (RFC 1035 §4), answers taken from them (CNAME chains, negative
// answers and their TTLs, RFC 2308), and the cache that keeps them.

#include <gtest/gtest.h>

#include <string>

#include "common/dns/answer.hpp"
#include "common/dns/cache.hpp"
#include "common/dns/message.hpp"

namespace mailstead::dns {
namespace {

// Builds responses the way a server writes them, compression pointers included.
class Packet {
 public:
  Packet(std::string_view question, Type type, unsigned rcode = 0, unsigned flags = 0x8400) {
    u16(0x1234);
    u16(flags | rcode);
    u16(1);
    counts_ = bytes_.size();
    u16(0);  // answers
    u16(0);  // authority
    u16(0);  // additional
    name(question);
    u16(static_cast<unsigned>(type));
    u16(1);
  }
  Packet& answer(std::string_view owner, Type type, std::uint32_t ttl, const std::string& rdata) {
    bump(0);
    record(owner, type, ttl, rdata);
    return *this;
  }
  Packet& authority(std::string_view owner, Type type, std::uint32_t ttl, const std::string& rdata) {
    bump(2);
    record(owner, type, ttl, rdata);
    return *this;
  }
  std::string bytes() const { return bytes_; }

  static std::string wire_name(std::string_view n) {
    std::string out;
    while (!n.empty()) {
      auto dot = n.find('.');
      auto label = n.substr(0, dot);
      out += static_cast<char>(label.size());
      out += label;
      n = dot == std::string_view::npos ? std::string_view{} : n.substr(dot + 1);
    }
    return out + '\0';
  }
  static std::string txt(std::initializer_list<std::string> strings) {
    std::string out;
    for (const auto& s : strings) out += static_cast<char>(s.size()) + s;
    return out;
  }
  static std::string soa(std::uint32_t minimum) {
    std::string out = wire_name("ns.example") + wire_name("hostmaster.example");
    for (std::uint32_t v : {1u, 3600u, 600u, 86400u, minimum})
      for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
    return out;
  }

 private:
  void u16(unsigned v) {
    bytes_ += static_cast<char>((v >> 8) & 0xFF);
    bytes_ += static_cast<char>(v & 0xFF);
  }
  void u32(std::uint32_t v) {
    u16(v >> 16);
    u16(v & 0xFFFF);
  }
  void name(std::string_view n) { bytes_ += wire_name(n); }
  void bump(std::size_t which) {
    auto at = counts_ + which;
    auto v = ((static_cast<unsigned char>(bytes_[at]) << 8) | static_cast<unsigned char>(bytes_[at + 1])) + 1;
    bytes_[at] = static_cast<char>(v >> 8);
    bytes_[at + 1] = static_cast<char>(v & 0xFF);
  }
  void record(std::string_view owner, Type type, std::uint32_t ttl, const std::string& rdata) {
    if (owner == "@")
      bytes_ += "\xC0\x0C";  // a pointer to the question's name
    else
      name(owner);
    u16(static_cast<unsigned>(type));
    u16(1);
    u32(ttl);
    u16(static_cast<unsigned>(rdata.size()));
    bytes_ += rdata;
  }
  std::string bytes_;
  std::size_t counts_ = 0;
};

TEST(DnsMessage, ReadsTxtRecordsJoiningTheirStrings) {
  // RFC 7208 §3.3 and RFC 6376 §3.6.2.2: a record's character-strings are one text.
  auto packet = Packet("Example.COM", Type::txt)
                    .answer("@", Type::txt, 300, Packet::txt({"v=spf1 ip4:192.0.2.0/24 ", "-all"}))
                    .answer("@", Type::txt, 120, Packet::txt({"other"}))
                    .bytes();
  auto r = parse_response(packet);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->question, "example.com");
  EXPECT_EQ(r->rcode, 0u);
  ASSERT_EQ(r->answers.size(), 2u);
  EXPECT_EQ(r->answers[0].owner, "example.com");
  EXPECT_EQ(r->answers[0].data, "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(r->answers[0].ttl, 300u);
  auto reading = read_answer(*r, "example.com", Type::txt, 8);
  EXPECT_EQ(reading.answer.status, Status::ok);
  EXPECT_EQ(reading.ttl, 120u);  // the least of the records'
}

TEST(DnsMessage, ReadsNamesThroughCompressionPointers) {
  // The MX target points into the question ("mx" then a pointer to offset 12).
  std::string mx = std::string("\x00\x0A", 2) + "\x02mx\xC0\x0C";
  auto packet = Packet("example.org", Type::mx).answer("@", Type::mx, 60, mx).bytes();
  auto r = parse_response(packet);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->answers.size(), 1u);
  EXPECT_EQ(r->answers[0].preference, 10);
  EXPECT_EQ(r->answers[0].data, "mx.example.org");
}

TEST(DnsMessage, FollowsACnameChainWithinTheResponse) {
  auto packet = Packet("www.example.org", Type::a)
                    .answer("@", Type::cname, 30, Packet::wire_name("host.example.net"))
                    .answer("host.example.net", Type::a, 600, std::string("\xC0\x00\x02\x01", 4))
                    .answer("unrelated.example", Type::a, 600, std::string("\x0A\x00\x00\x01", 4))
                    .bytes();
  auto r = parse_response(packet);
  ASSERT_TRUE(r);
  auto reading = read_answer(*r, "www.example.org", Type::a, 8);
  EXPECT_EQ(reading.answer.status, Status::ok);
  ASSERT_EQ(reading.answer.records.size(), 1u);  // not the record of a name nobody asked for
  EXPECT_EQ(reading.answer.records[0].data, std::string("\xC0\x00\x02\x01", 4));
  EXPECT_EQ(reading.ttl, 30u);  // the chain holds only as long as its shortest link
  EXPECT_TRUE(reading.next.empty());
}

TEST(DnsMessage, AChainThatLeavesTheResponseNamesWhatToAskNext) {
  auto packet =
      Packet("a.example", Type::txt).answer("@", Type::cname, 300, Packet::wire_name("b.example.net")).bytes();
  auto reading = read_answer(*parse_response(packet), "a.example", Type::txt, 8);
  EXPECT_EQ(reading.next, "b.example.net");
}

TEST(DnsMessage, ACnameLoopIsATemporaryFailure) {
  auto packet = Packet("a.example", Type::a)
                    .answer("@", Type::cname, 300, Packet::wire_name("b.example"))
                    .answer("b.example", Type::cname, 300, Packet::wire_name("a.example"))
                    .bytes();
  auto reading = read_answer(*parse_response(packet), "a.example", Type::a, 8);
  EXPECT_EQ(reading.answer.status, Status::temporary);
  EXPECT_EQ(reading.answer.error, "too many CNAMEs");
}

TEST(DnsMessage, NegativeAnswersHoldForTheSoasMinimum) {
  // RFC 2308 §5: the lesser of the SOA record's TTL and its MINIMUM field.
  auto nx = Packet("gone.example", Type::txt, 3).authority("example", Type::soa, 3600, Packet::soa(900)).bytes();
  auto r = parse_response(nx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->negative_ttl, 900u);
  auto reading = read_answer(*r, "gone.example", Type::txt, 8);
  EXPECT_EQ(reading.answer.status, Status::nxdomain);
  EXPECT_EQ(reading.ttl, 900u);

  auto nodata = Packet("here.example", Type::txt).authority("example", Type::soa, 120, Packet::soa(900)).bytes();
  reading = read_answer(*parse_response(nodata), "here.example", Type::txt, 8);
  EXPECT_EQ(reading.answer.status, Status::no_data);
  EXPECT_EQ(reading.ttl, 120u);

  // Without an SOA a negative answer is not kept at all.
  reading = read_answer(*parse_response(Packet("x.example", Type::txt, 3).bytes()), "x.example", Type::txt, 8);
  EXPECT_EQ(reading.ttl, 0u);
}

TEST(DnsMessage, ServerFailureIsTemporary) {
  auto reading = read_answer(*parse_response(Packet("x.example", Type::a, 2).bytes()), "x.example", Type::a, 8);
  EXPECT_EQ(reading.answer.status, Status::temporary);
}

TEST(DnsMessage, TtlsWithTheTopBitSetCountAsZero) {
  // RFC 2181 §8.
  auto packet = Packet("x.example", Type::a).answer("@", Type::a, 0x80000001u, std::string(4, '\1')).bytes();
  EXPECT_EQ(parse_response(packet)->answers[0].ttl, 0u);
}

TEST(DnsMessage, MalformedResponsesAreRefused) {
  auto good = Packet("x.example", Type::txt).answer("@", Type::txt, 60, Packet::txt({"hello"})).bytes();
  ASSERT_TRUE(parse_response(good));
  // Cut anywhere: never read past the end.
  for (std::size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(parse_response(good.substr(0, n))) << n;
  // A character-string longer than its record.
  auto overlong = Packet("x.example", Type::txt).answer("@", Type::txt, 60, "\x09short").bytes();
  EXPECT_FALSE(parse_response(overlong));
  // An A record of the wrong length.
  EXPECT_FALSE(parse_response(Packet("x.example", Type::a).answer("@", Type::a, 60, "abc").bytes()));
  // A query, not a response.
  EXPECT_FALSE(parse_response(Packet("x.example", Type::a, 0, 0x0100).bytes()));
  // A name that is a pointer to itself: bounded by kMaxPointers, not a loop.
  auto pointer = Packet("x.example", Type::ptr).answer("@", Type::ptr, 60, "").bytes();
  pointer[pointer.size() - 1] = 2;  // rdlength 2
  auto at = pointer.size();
  pointer += static_cast<char>(0xC0 | (at >> 8));
  pointer += static_cast<char>(at & 0xFF);
  EXPECT_FALSE(parse_response(pointer));
}

TEST(DnsMessage, NamesLongerThan255OctetsAreRefused) {
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  long_name += "example";
  EXPECT_FALSE(parse_response(Packet(long_name, Type::a).bytes()));
}

TEST(DnsMessage, ReverseNames) {
  EXPECT_EQ(reverse_name(std::string("\xC0\x00\x02\x01", 4)), "1.2.0.192.in-addr.arpa");
  std::string v6(16, '\0');
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[2] = 0x0d;
  v6[3] = static_cast<char>(0xb8);
  v6[15] = 0x01;
  // RFC 3596 §2.5's form.
  EXPECT_EQ(reverse_name(v6), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(DnsCache, KeepsAnswersForTheirTtlAndNoLonger) {
  Cache cache(100, std::chrono::hours(1));
  auto t0 = Cache::Clock::now();
  Answer answer{Status::ok, {{"example.com", Type::txt, 30, "v=spf1 -all", 0}}, ""};
  cache.store("Example.com.", Type::txt, answer, 30, t0);
  auto hit = cache.find("example.COM", Type::txt, t0 + std::chrono::seconds(29));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->records[0].data, "v=spf1 -all");
  EXPECT_FALSE(cache.find("example.com", Type::a, t0));  // another type
  EXPECT_FALSE(cache.find("example.com", Type::txt, t0 + std::chrono::seconds(30)));
  EXPECT_EQ(cache.size(), 0u);  // an expired entry goes when found expired
}

TEST(DnsCache, CapsTtlsAndKeepsNoTemporaryFailure) {
  Cache cache(100, std::chrono::seconds(60));
  auto t0 = Cache::Clock::now();
  cache.store("a.example", Type::a, {Status::nxdomain, {}, ""}, 86400, t0);
  EXPECT_TRUE(cache.find("a.example", Type::a, t0 + std::chrono::seconds(59)));
  EXPECT_FALSE(cache.find("a.example", Type::a, t0 + std::chrono::seconds(60)));
  cache.store("b.example", Type::a, {Status::temporary, {}, "timeout"}, 86400, t0);
  EXPECT_FALSE(cache.find("b.example", Type::a, t0));
  cache.store("c.example", Type::a, {Status::ok, {}, ""}, 0, t0);
  EXPECT_FALSE(cache.find("c.example", Type::a, t0));
}

TEST(DnsCache, HoldsAtMostItsSizeTheOldestGoingFirst) {
  Cache cache(3, std::chrono::hours(1));
  auto t0 = Cache::Clock::now();
  for (int i = 0; i < 5; ++i) cache.store(std::to_string(i) + ".example", Type::a, {Status::no_data, {}, ""}, 60, t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("0.example", Type::a, t0));
  EXPECT_FALSE(cache.find("1.example", Type::a, t0));
  EXPECT_TRUE(cache.find("4.example", Type::a, t0));
}

}  // namespace
}  // namespace mailstead::dns
