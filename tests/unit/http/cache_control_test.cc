// parse_cache_control, parse_cdn_cache_control and parse_delta_seconds.
//
// Single-threaded GoogleTest cases on plain values. Cache-Control cases check the lenient,
// member-by-member reading (and its "err towards caching less" choices); CDN-Cache-Control
// cases check that the RFC 8941 Dictionary is parsed strictly and voided as a whole on error.
#include "http/cache_control.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stavka::http {
namespace {

using Fields = std::vector<std::string>;

CacheDirectives cc(std::initializer_list<std::string_view> lines) {
  return parse_cache_control(std::vector<std::string_view>(lines));
}

std::optional<CacheDirectives> cdn(std::initializer_list<std::string_view> lines) {
  HeaderMap h;
  for (std::string_view line : lines) h.add("CDN-Cache-Control", line);
  return parse_cdn_cache_control(h);
}

// True when nothing but `present` could be set.
bool nothing_set(const CacheDirectives& d) {
  return !d.max_age && !d.no_cache && d.no_cache_fields.empty() && !d.no_store && !d.no_transform &&
         !d.s_maxage && !d.must_revalidate && !d.proxy_revalidate && !d.must_understand &&
         !d.is_private && d.private_fields.empty() && !d.is_public && !d.immutable &&
         !d.stale_while_revalidate && !d.stale_if_error && !d.max_stale && !d.max_stale_value &&
         !d.min_fresh && !d.only_if_cached && !d.freshness_invalid;
}

// ---- parse_delta_seconds ----

TEST(DeltaSeconds, DigitsOnly) {
  EXPECT_EQ(parse_delta_seconds("0"), 0u);
  EXPECT_EQ(parse_delta_seconds("60"), 60u);
  EXPECT_EQ(parse_delta_seconds("000060"), 60u);
  EXPECT_EQ(parse_delta_seconds(""), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("-1"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("+1"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds(" 1"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("1 "), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("12a"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("1.5"), std::nullopt);
  EXPECT_EQ(parse_delta_seconds("0x10"), std::nullopt);
}

TEST(DeltaSeconds, ClampsTo2Pow31) {
  EXPECT_EQ(parse_delta_seconds("2147483647"), 2147483647u);
  EXPECT_EQ(parse_delta_seconds("2147483648"), max_delta_seconds);
  EXPECT_EQ(parse_delta_seconds("2147483649"), max_delta_seconds);
  EXPECT_EQ(parse_delta_seconds("4294967296"), max_delta_seconds);  // would wrap a uint32
  EXPECT_EQ(parse_delta_seconds("99999999999"), max_delta_seconds);
  EXPECT_EQ(parse_delta_seconds(std::string(1000, '9')), max_delta_seconds);
  EXPECT_EQ(parse_delta_seconds(std::string(1000, '9') + "x"), std::nullopt);
}

// ---- Cache-Control: each directive ----

TEST(CacheControl, AbsentOrEmptyIsNotPresent) {
  EXPECT_FALSE(cc({}).present);
  EXPECT_FALSE(cc({""}).present);
  EXPECT_FALSE(cc({" , ,\t,,"}).present);
  EXPECT_TRUE(nothing_set(cc({",,"})));
}

TEST(CacheControl, EveryFlagDirective) {
  EXPECT_TRUE(cc({"no-store"}).no_store);
  EXPECT_TRUE(cc({"no-transform"}).no_transform);
  EXPECT_TRUE(cc({"must-revalidate"}).must_revalidate);
  EXPECT_TRUE(cc({"proxy-revalidate"}).proxy_revalidate);
  EXPECT_TRUE(cc({"must-understand"}).must_understand);
  EXPECT_TRUE(cc({"public"}).is_public);
  EXPECT_TRUE(cc({"immutable"}).immutable);
  EXPECT_TRUE(cc({"only-if-cached"}).only_if_cached);
  EXPECT_TRUE(cc({"no-cache"}).no_cache);
  EXPECT_TRUE(cc({"private"}).is_private);
  CacheDirectives d = cc({"no-store"});
  EXPECT_TRUE(d.present);
  d.no_store = false;
  EXPECT_TRUE(nothing_set(d));  // no other field leaks
}

TEST(CacheControl, EveryValueDirective) {
  EXPECT_EQ(cc({"max-age=60"}).max_age, 60u);
  EXPECT_EQ(cc({"s-maxage=30"}).s_maxage, 30u);
  EXPECT_EQ(cc({"stale-while-revalidate=10"}).stale_while_revalidate, 10u);
  EXPECT_EQ(cc({"stale-if-error=20"}).stale_if_error, 20u);
  EXPECT_EQ(cc({"min-fresh=7"}).min_fresh, 7u);
  EXPECT_EQ(cc({"max-age=0"}).max_age, 0u);
  CacheDirectives d = cc({"max-stale=5"});
  EXPECT_TRUE(d.max_stale);
  EXPECT_EQ(d.max_stale_value, 5u);
  EXPECT_FALSE(cc({"max-age=60"}).freshness_invalid);
}

TEST(CacheControl, TypicalResponse) {
  CacheDirectives d =
      cc({"public, max-age=3600, s-maxage=600, stale-while-revalidate=30, stale-if-error=86400, "
          "must-revalidate, proxy-revalidate, no-transform, immutable, must-understand"});
  EXPECT_TRUE(d.present);
  EXPECT_TRUE(d.is_public);
  EXPECT_EQ(d.max_age, 3600u);
  EXPECT_EQ(d.s_maxage, 600u);
  EXPECT_EQ(d.stale_while_revalidate, 30u);
  EXPECT_EQ(d.stale_if_error, 86400u);
  EXPECT_TRUE(d.must_revalidate);
  EXPECT_TRUE(d.proxy_revalidate);
  EXPECT_TRUE(d.no_transform);
  EXPECT_TRUE(d.immutable);
  EXPECT_TRUE(d.must_understand);
  EXPECT_FALSE(d.no_store);
  EXPECT_FALSE(d.no_cache);
  EXPECT_FALSE(d.is_private);
  EXPECT_FALSE(d.freshness_invalid);
}

TEST(CacheControl, TypicalRequest) {
  CacheDirectives d = cc({"max-age=0, max-stale, min-fresh=5, only-if-cached, no-cache"});
  EXPECT_EQ(d.max_age, 0u);
  EXPECT_TRUE(d.max_stale);
  EXPECT_EQ(d.max_stale_value, std::nullopt);  // any staleness
  EXPECT_EQ(d.min_fresh, 5u);
  EXPECT_TRUE(d.only_if_cached);
  EXPECT_TRUE(d.no_cache);
}

TEST(CacheControl, NamesAreCaseInsensitive) {
  CacheDirectives d =
      cc({"MAX-AGE=60, No-Store, PRIVATE=\"Set-Cookie\", S-MaxAge=5, Max-Stale, PUBLIC"});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.no_store);
  EXPECT_EQ(d.private_fields, Fields{"set-cookie"});
  EXPECT_EQ(d.s_maxage, 5u);
  EXPECT_TRUE(d.max_stale);
  EXPECT_TRUE(d.is_public);
}

TEST(CacheControl, UnknownDirectivesAreIgnoredButPresent) {
  CacheDirectives d = cc({"foo, bar=baz, x=\"y, z\", community=\"UCI\""});
  EXPECT_TRUE(d.present);
  EXPECT_TRUE(nothing_set(d));
  d = cc({"max-ages=60, no-stores, maxage=5"});  // near misses are unknown too
  EXPECT_TRUE(nothing_set(d));
}

TEST(CacheControl, WhitespaceAroundMembersAndEquals) {
  CacheDirectives d = cc({"  max-age = 60 ,\tno-store\t,  public  "});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.no_store);
  EXPECT_TRUE(d.is_public);
  EXPECT_FALSE(d.freshness_invalid);
  EXPECT_EQ(cc({"max-age\t=\t\"60\"\t"}).max_age, 60u);
  EXPECT_EQ(cc({"s-maxage= 5"}).s_maxage, 5u);
}

// ---- Quoted arguments ----

TEST(CacheControl, QuotedNumberIsAccepted) {
  EXPECT_EQ(cc({"max-age=\"60\""}).max_age, 60u);
  EXPECT_EQ(cc({"max-age=\"6\\0\""}).max_age, 60u);  // quoted-pair unescapes to a digit
  EXPECT_EQ(cc({"stale-if-error=\"9\""}).stale_if_error, 9u);
  CacheDirectives d = cc({"max-age=\" 60\""});
  EXPECT_TRUE(d.freshness_invalid);
  EXPECT_EQ(d.max_age, std::nullopt);
  EXPECT_TRUE(cc({"max-age=\"\""}).freshness_invalid);
}

TEST(CacheControl, CommasInsideQuotesDoNotSplit) {
  CacheDirectives d = cc({"private=\"set-cookie, X-Secret\", max-age=60"});
  EXPECT_FALSE(d.is_private);
  EXPECT_EQ(d.private_fields, (Fields{"set-cookie", "x-secret"}));
  EXPECT_EQ(d.max_age, 60u);

  d = cc({"foo=\"a, no-store, max-age=1\", max-age=5"});
  EXPECT_FALSE(d.no_store);
  EXPECT_EQ(d.max_age, 5u);
  EXPECT_FALSE(d.freshness_invalid);
}

TEST(CacheControl, EscapesInsideQuotes) {
  // The escaped quote does not close the string, so the comma after it is still inside.
  CacheDirectives d = cc({R"(foo="a\", no-store", max-age=5)"});
  EXPECT_FALSE(d.no_store);
  EXPECT_EQ(d.max_age, 5u);
  d = cc({R"(foo="a\\", no-store)"});  // an escaped backslash, then the closing quote
  EXPECT_TRUE(d.no_store);
  d = cc({R"(no-cache="x-a\-b")"});
  EXPECT_EQ(d.no_cache_fields, Fields{"x-a-b"});
}

// ---- no-cache and private with field names ----

TEST(CacheControl, QualifiedNoCacheLeavesFlagFalse) {
  CacheDirectives d = cc({"no-cache=\"Set-Cookie, Authorization\""});
  EXPECT_FALSE(d.no_cache);
  EXPECT_EQ(d.no_cache_fields, (Fields{"set-cookie", "authorization"}));
  d = cc({"no-cache=Set-Cookie"});  // token form
  EXPECT_FALSE(d.no_cache);
  EXPECT_EQ(d.no_cache_fields, Fields{"set-cookie"});
}

TEST(CacheControl, QualifiedAndUnqualifiedTogether) {
  CacheDirectives d = cc({"no-cache=\"a\", no-cache"});
  EXPECT_TRUE(d.no_cache);
  EXPECT_EQ(d.no_cache_fields, Fields{"a"});
  d = cc({"private", "private=\"b\""});
  EXPECT_TRUE(d.is_private);
  EXPECT_EQ(d.private_fields, Fields{"b"});
}

TEST(CacheControl, FieldNamesAreMergedAndDeduplicated) {
  CacheDirectives d = cc({"private=\"a, A\", private=b, private=\"B,,c\""});
  EXPECT_FALSE(d.is_private);
  EXPECT_EQ(d.private_fields, (Fields{"a", "b", "c"}));
}

TEST(CacheControl, UnreadableFieldListMeansUnqualified) {
  for (std::string_view value :
       {"no-cache=\"\"", "no-cache=\"a b\"", "no-cache=\", ,\"", "no-cache=", "no-cache=\"a",
        "no-cache=\"a\" junk", "no-cache=\"a;b\"", "no-cache=@"}) {
    CacheDirectives d = cc({value});
    EXPECT_TRUE(d.no_cache) << value;
    EXPECT_TRUE(d.no_cache_fields.empty()) << value;
  }
  EXPECT_TRUE(cc({"private=\"x\"y"}).is_private);
}

// ---- Duplicates and malformed freshness ----

TEST(CacheControl, SameDuplicateIsHarmless) {
  CacheDirectives d = cc({"max-age=60, max-age=60", "max-age=\"60\""});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_FALSE(d.freshness_invalid);
  d = cc({"s-maxage=5, S-MAXAGE=05"});
  EXPECT_EQ(d.s_maxage, 5u);
  EXPECT_FALSE(d.freshness_invalid);
}

TEST(CacheControl, ConflictingDuplicateKeepsFirstAndFlags) {
  CacheDirectives d = cc({"max-age=60, max-age=120"});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.freshness_invalid);
  d = cc({"s-maxage=10", "s-maxage=20"});  // across field lines too
  EXPECT_EQ(d.s_maxage, 10u);
  EXPECT_TRUE(d.freshness_invalid);
  d = cc({"max-age=99999999999, max-age=2147483648"});  // equal once clamped
  EXPECT_EQ(d.max_age, max_delta_seconds);
  EXPECT_FALSE(d.freshness_invalid);
}

TEST(CacheControl, MalformedFreshnessFlagsAndStaysEmpty) {
  for (std::string_view value :
       {"max-age=abc", "max-age=-1", "max-age", "max-age=", "max-age=1.5", "max-age=60 60",
        "max-age=60;x", "max-age=\"60", "max-age=+5", "max-age==5", "max-age 60"}) {
    CacheDirectives d = cc({value});
    EXPECT_TRUE(d.present) << value;
    EXPECT_TRUE(d.freshness_invalid) << value;
    EXPECT_EQ(d.max_age, std::nullopt) << value;
  }
  CacheDirectives d = cc({"s-maxage=x"});
  EXPECT_TRUE(d.freshness_invalid);
  EXPECT_EQ(d.s_maxage, std::nullopt);
}

TEST(CacheControl, MalformedThenValidKeepsValidButStaysInvalid) {
  CacheDirectives d = cc({"max-age=abc, max-age=60"});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.freshness_invalid);
  d = cc({"max-age=60, max-age"});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.freshness_invalid);
}

TEST(CacheControl, LargeValuesClamp) {
  CacheDirectives d =
      cc({"max-age=99999999999, s-maxage=99999999999, "
          "stale-while-revalidate=99999999999, stale-if-error=99999999999, "
          "max-stale=99999999999, min-fresh=99999999999"});
  EXPECT_EQ(d.max_age, max_delta_seconds);
  EXPECT_EQ(d.s_maxage, max_delta_seconds);
  EXPECT_EQ(d.stale_while_revalidate, max_delta_seconds);
  EXPECT_EQ(d.stale_if_error, max_delta_seconds);
  EXPECT_EQ(d.max_stale_value, max_delta_seconds);
  EXPECT_EQ(d.min_fresh, max_delta_seconds);
  EXPECT_FALSE(d.freshness_invalid);
}

// ---- Other value directives ----

TEST(CacheControl, MalformedOtherValuesAreAbsent) {
  CacheDirectives d =
      cc({"stale-while-revalidate=x, stale-if-error=-1, min-fresh, "
          "max-stale=abc, stale-while-revalidate"});
  EXPECT_TRUE(d.present);
  EXPECT_EQ(d.stale_while_revalidate, std::nullopt);
  EXPECT_EQ(d.stale_if_error, std::nullopt);
  EXPECT_EQ(d.min_fresh, std::nullopt);
  EXPECT_FALSE(d.max_stale);
  EXPECT_FALSE(d.freshness_invalid);  // only max-age and s-maxage affect freshness
  EXPECT_FALSE(cc({"max-stale="}).max_stale);
  EXPECT_FALSE(cc({"max-stale junk"}).max_stale);
}

TEST(CacheControl, RepeatedOtherValuesTakeTheConservativeOne) {
  CacheDirectives d =
      cc({"stale-while-revalidate=30, stale-while-revalidate=10, "
          "stale-if-error=5, stale-if-error=50, min-fresh=10, min-fresh=20"});
  EXPECT_EQ(d.stale_while_revalidate, 10u);
  EXPECT_EQ(d.stale_if_error, 5u);
  EXPECT_EQ(d.min_fresh, 20u);
  EXPECT_FALSE(d.freshness_invalid);
}

TEST(CacheControl, MaxStaleForms) {
  CacheDirectives d = cc({"max-stale"});
  EXPECT_TRUE(d.max_stale);
  EXPECT_EQ(d.max_stale_value, std::nullopt);
  d = cc({"max-stale, max-stale=30"});
  EXPECT_TRUE(d.max_stale);
  EXPECT_EQ(d.max_stale_value, 30u);  // a bound beats "any"
  d = cc({"max-stale=30, max-stale=10, max-stale"});
  EXPECT_EQ(d.max_stale_value, 10u);
  d = cc({"max-stale=abc, max-stale"});
  EXPECT_TRUE(d.max_stale);
  EXPECT_EQ(d.max_stale_value, std::nullopt);
  d = cc({"max-stale=\"15\""});
  EXPECT_EQ(d.max_stale_value, 15u);
}

// ---- Restrictive versus permissive directives when written badly ----

TEST(CacheControl, RestrictiveDirectivesCountWhateverFollows) {
  CacheDirectives d = cc({"no-store junk, max-age=5"});
  EXPECT_TRUE(d.no_store);
  EXPECT_EQ(d.max_age, 5u);
  EXPECT_TRUE(cc({"no-store=1"}).no_store);
  EXPECT_TRUE(cc({"no-store=\"unterminated"}).no_store);
  EXPECT_TRUE(cc({"must-revalidate;x"}).must_revalidate);
  EXPECT_TRUE(cc({"proxy-revalidate=\"\""}).proxy_revalidate);
  EXPECT_TRUE(cc({"no-transform=@"}).no_transform);
  EXPECT_TRUE(cc({"private junk"}).is_private);
  EXPECT_TRUE(cc({"no-cache;"}).no_cache);
}

TEST(CacheControl, PermissiveDirectivesNeedACleanBareMember) {
  for (std::string_view value :
       {"public=1", "public=\"yes\"", "public junk", "public;", "immutable=1",
        "must-understand=\"x\"", "only-if-cached=true", "immutable \"x\""}) {
    CacheDirectives d = cc({value});
    EXPECT_TRUE(d.present) << value;
    EXPECT_TRUE(nothing_set(d)) << value;
  }
  EXPECT_TRUE(cc({" public "}).is_public);
}

// ---- Garbage tolerance ----

TEST(CacheControl, BadMembersDoNotSpoilTheirNeighbours) {
  CacheDirectives d = cc({"=5, max-age=5, \"quoted\", ;;;, @@@, no-store, (x), public"});
  EXPECT_EQ(d.max_age, 5u);
  EXPECT_TRUE(d.no_store);
  EXPECT_TRUE(d.is_public);
  EXPECT_FALSE(d.freshness_invalid);
}

TEST(CacheControl, StrayQuoteDoesNotHideLaterMembers) {
  CacheDirectives d = cc({"foo=\"bar, no-store"});
  EXPECT_TRUE(d.no_store);
  d = cc({"\"open, max-age=5"});
  EXPECT_EQ(d.max_age, 5u);
  d = cc({"a=b\"c, public"});
  EXPECT_TRUE(d.is_public);
}

TEST(CacheControl, NonAsciiAndControlBytes) {
  using namespace std::string_view_literals;
  CacheDirectives d = cc({"\xff\xfe, public, x=\"\xc3\xa9\""});
  EXPECT_TRUE(d.is_public);
  d = cc({"max-age=5\0, no-store"sv});
  EXPECT_TRUE(d.no_store);
  EXPECT_TRUE(d.freshness_invalid);        // a NUL after the value makes the member malformed
  d = cc({"no-cache=\"a\x01\", public"});  // a CTL voids the quoted-string
  EXPECT_TRUE(d.no_cache);
  EXPECT_TRUE(d.is_public);
}

TEST(CacheControl, LongHostileLinesAreReadCorrectly) {
  // An unterminated quoted-string made of escaped quotes: every quote in it is unreadable, so
  // the comma inside it still separates members (and scanning stays linear).
  std::string escaped = "x=\"";
  for (int i = 0; i < 20000; ++i) escaped += "\\\"";
  CacheDirectives d = cc({escaped + ", no-store, max-age=7"});
  EXPECT_TRUE(d.no_store);
  EXPECT_EQ(d.max_age, 7u);

  std::string members;
  for (int i = 0; i < 5000; ++i) members += "a=\"\\\", ";
  d = cc({members + "public"});
  EXPECT_TRUE(d.present);
}

TEST(CacheControl, FieldNameListIsBounded) {
  auto names = [](int count) {
    std::string list;
    for (int i = 0; i < count; ++i) list += (i ? ", f" : "f") + std::to_string(i);
    return list;
  };
  CacheDirectives d = cc({"private=\"" + names(64) + "\""});
  EXPECT_FALSE(d.is_private);
  EXPECT_EQ(d.private_fields.size(), 64u);
  d = cc({"private=\"" + names(65) + "\""});
  EXPECT_TRUE(d.is_private);
  d = cc({"no-cache=\"" + names(40) + "\", no-cache=\"" + names(40) + "\""});  // repeats merge
  EXPECT_FALSE(d.no_cache);
  EXPECT_EQ(d.no_cache_fields.size(), 40u);
  d = cc({"no-cache=\"" + names(10000) + "\""});
  EXPECT_TRUE(d.no_cache);
  EXPECT_LE(d.no_cache_fields.size(), 64u);
}

TEST(CacheControl, MultipleFieldLinesAreOneList) {
  CacheDirectives d = cc({"max-age=60", "no-store", "", "private=\"a\""});
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.no_store);
  EXPECT_EQ(d.private_fields, Fields{"a"});
}

TEST(CacheControl, UnterminatedQuoteStaysOnItsLine) {
  CacheDirectives d = cc({"private=\"a, b", "max-age=5"});
  EXPECT_TRUE(d.is_private);
  EXPECT_EQ(d.max_age, 5u);
}

TEST(CacheControl, FromHeaderMap) {
  HeaderMap h;
  h.add("Cache-Control", "max-age=60");
  h.add("Content-Type", "text/plain");
  h.add("CACHE-CONTROL", "no-transform");
  h.add("Pragma", "no-cache");  // not Cache-Control
  CacheDirectives d = parse_cache_control(h);
  EXPECT_EQ(d.max_age, 60u);
  EXPECT_TRUE(d.no_transform);
  EXPECT_FALSE(d.no_cache);
  EXPECT_FALSE(parse_cache_control(HeaderMap{}).present);
}

// ---- CDN-Cache-Control ----

TEST(CdnCacheControl, AbsentOrEmptyIsIgnored) {
  EXPECT_EQ(parse_cdn_cache_control(HeaderMap{}), std::nullopt);
  EXPECT_EQ(cdn({""}), std::nullopt);
  EXPECT_EQ(cdn({"   "}), std::nullopt);
  EXPECT_EQ(cdn({"\t"}), std::nullopt);
  HeaderMap h;
  h.add("Cache-Control", "max-age=5");
  EXPECT_EQ(parse_cdn_cache_control(h), std::nullopt);  // only the targeted field counts
}

TEST(CdnCacheControl, EveryDirective) {
  auto d =
      cdn({"max-age=60, s-maxage=30, no-store, no-cache, private, public, no-transform, "
           "must-revalidate, proxy-revalidate, must-understand, immutable, "
           "stale-while-revalidate=5, stale-if-error=10, max-stale=3, min-fresh=4, "
           "only-if-cached"});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->present);
  EXPECT_EQ(d->max_age, 60u);
  EXPECT_EQ(d->s_maxage, 30u);
  EXPECT_TRUE(d->no_store);
  EXPECT_TRUE(d->no_cache);
  EXPECT_TRUE(d->is_private);
  EXPECT_TRUE(d->is_public);
  EXPECT_TRUE(d->no_transform);
  EXPECT_TRUE(d->must_revalidate);
  EXPECT_TRUE(d->proxy_revalidate);
  EXPECT_TRUE(d->must_understand);
  EXPECT_TRUE(d->immutable);
  EXPECT_EQ(d->stale_while_revalidate, 5u);
  EXPECT_EQ(d->stale_if_error, 10u);
  EXPECT_TRUE(d->max_stale);
  EXPECT_EQ(d->max_stale_value, 3u);
  EXPECT_EQ(d->min_fresh, 4u);
  EXPECT_TRUE(d->only_if_cached);
  EXPECT_FALSE(d->freshness_invalid);
}

TEST(CdnCacheControl, UnknownKeysStillMakeItPresent) {
  auto d = cdn({"foo, bar=1, *baz=\"x\""});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->present);
  EXPECT_TRUE(nothing_set(*d));
}

TEST(CdnCacheControl, UppercaseKeyVoidsTheField) {
  EXPECT_EQ(cdn({"Max-Age=60"}), std::nullopt);
  EXPECT_EQ(cdn({"max-Age=60"}), std::nullopt);
  EXPECT_EQ(cdn({"no-store, PUBLIC"}), std::nullopt);
  EXPECT_EQ(cdn({"1max=1"}), std::nullopt);  // keys start with lcalpha or '*'
  EXPECT_EQ(cdn({"-a=1"}), std::nullopt);
}

TEST(CdnCacheControl, ListSyntaxErrors) {
  for (std::string_view value :
       {"max-age=60,", "max-age=60, ", ", max-age=60", "max-age=60,,no-store",
        "max-age=60 no-store", "max-age=60;", "max-age=60;Foo=1", "max-age = 60", "max-age =60",
        "max-age= 60", "no-store, max-age=60, BAD", "=5", "max-age=60\x01"}) {
    EXPECT_EQ(cdn({value}), std::nullopt) << value;
  }
}

TEST(CdnCacheControl, IntegerSyntax) {
  EXPECT_EQ(cdn({"max-age=999999999999999"})->max_age, max_delta_seconds);  // 15 digits
  EXPECT_EQ(cdn({"stale-if-error=99999999999"})->stale_if_error, max_delta_seconds);
  EXPECT_EQ(cdn({"max-age=007"})->max_age, 7u);
  for (std::string_view value :
       {"max-age=1234567890123456", "max-age=60s", "max-age=1.", "max-age=1.2345", "max-age=--1",
        "max-age=-", "max-age=1234567890123.5", "max-age=1.2.3", "max-age=+1"}) {
    EXPECT_EQ(cdn({value}), std::nullopt) << value;
  }
}

TEST(CdnCacheControl, WrongTypeForFreshnessIsInvalid) {
  for (std::string_view value :
       {"max-age=?1", "max-age=?0", "max-age=\"5\"", "max-age=-1", "max-age", "max-age=abc",
        "max-age=1.5", "max-age=:AAAA:", "max-age=(1 2)", "max-age;p=1"}) {
    auto d = cdn({value});
    ASSERT_TRUE(d) << value;
    EXPECT_TRUE(d->freshness_invalid) << value;
    EXPECT_EQ(d->max_age, std::nullopt) << value;
  }
  auto d = cdn({"s-maxage=\"10\""});
  EXPECT_TRUE(d->freshness_invalid);
  EXPECT_EQ(d->s_maxage, std::nullopt);
}

TEST(CdnCacheControl, WrongTypeForOtherValuesIsIgnored) {
  auto d = cdn({"stale-while-revalidate=?1, stale-if-error=-5, min-fresh=\"3\", max-stale=1.5"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->stale_while_revalidate, std::nullopt);
  EXPECT_EQ(d->stale_if_error, std::nullopt);
  EXPECT_EQ(d->min_fresh, std::nullopt);
  EXPECT_FALSE(d->max_stale);
  EXPECT_FALSE(d->freshness_invalid);
  d = cdn({"max-stale"});
  EXPECT_TRUE(d->max_stale);
  EXPECT_EQ(d->max_stale_value, std::nullopt);
}

TEST(CdnCacheControl, BooleanFalseMeansNotSet) {
  auto d = cdn({"no-store=?0, public=?0, no-cache=?0, private=?0, immutable=?0, max-stale=?0"});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->present);
  EXPECT_TRUE(nothing_set(*d));
  d = cdn({"no-store=?1, public=?1"});
  EXPECT_TRUE(d->no_store);
  EXPECT_TRUE(d->is_public);
  EXPECT_EQ(cdn({"no-store=?2"}), std::nullopt);
  EXPECT_EQ(cdn({"no-store=?"}), std::nullopt);
  EXPECT_EQ(cdn({"no-store=?true"}), std::nullopt);
}

TEST(CdnCacheControl, WrongTypeErrsTowardsCachingLess) {
  auto d = cdn({"no-store=5, must-revalidate=\"x\", private=1, no-cache=1.5"});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->no_store);
  EXPECT_TRUE(d->must_revalidate);
  EXPECT_TRUE(d->is_private);
  EXPECT_TRUE(d->no_cache);
  d = cdn({"public=1, immutable=\"yes\", must-understand=tok, only-if-cached=:AA==:"});
  ASSERT_TRUE(d);
  EXPECT_TRUE(nothing_set(*d));
}

TEST(CdnCacheControl, DuplicateKeysLastWins) {
  auto d = cdn({"max-age=60, max-age=120"});
  EXPECT_EQ(d->max_age, 120u);
  EXPECT_FALSE(d->freshness_invalid);  // a Dictionary has one value per key
  EXPECT_FALSE(cdn({"no-store, no-store=?0"})->no_store);
  EXPECT_TRUE(cdn({"no-store=?0, no-store"})->no_store);
  d = cdn({"max-age=abc, max-age=5"});
  EXPECT_EQ(d->max_age, 5u);
  EXPECT_FALSE(d->freshness_invalid);
}

TEST(CdnCacheControl, ParametersAreIgnored) {
  auto d = cdn({"max-age=60;foo=bar;baz, no-store;x;y=?0, private=\"a\";q=1.5"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->max_age, 60u);
  EXPECT_TRUE(d->no_store);
  EXPECT_EQ(d->private_fields, Fields{"a"});
  EXPECT_EQ(cdn({"max-age=60;a=(1)"}), std::nullopt);  // parameter values are bare items
  EXPECT_TRUE(cdn({"max-age=60; a=1"}));               // SP after ';' is allowed
}

TEST(CdnCacheControl, FieldNamesAsStringTokenOrInnerList) {
  auto d = cdn({"private=\"Set-Cookie, X-A\""});
  EXPECT_FALSE(d->is_private);
  EXPECT_EQ(d->private_fields, (Fields{"set-cookie", "x-a"}));
  d = cdn({"no-cache=set-cookie"});
  EXPECT_FALSE(d->no_cache);
  EXPECT_EQ(d->no_cache_fields, Fields{"set-cookie"});
  d = cdn({"no-cache=(\"set-cookie\" Authorization);p=1"});
  EXPECT_FALSE(d->no_cache);
  EXPECT_EQ(d->no_cache_fields, (Fields{"set-cookie", "authorization"}));
  d = cdn({"private=( a  b )"});
  EXPECT_EQ(d->private_fields, (Fields{"a", "b"}));
}

TEST(CdnCacheControl, UnreadableFieldNamesMeanUnqualified) {
  for (std::string_view value : {"private=()", "private=(1)", "private=(\"a b\")", "private=\"\"",
                                 "private=a/b", "private=(a ?1)"}) {
    auto d = cdn({value});
    ASSERT_TRUE(d) << value;
    EXPECT_TRUE(d->is_private) << value;
    EXPECT_TRUE(d->private_fields.empty()) << value;
  }
}

TEST(CdnCacheControl, InnerListSyntax) {
  EXPECT_TRUE(cdn({"foo=(1 2 3), max-age=5"}));
  EXPECT_TRUE(cdn({"foo=(), max-age=5"}));
  EXPECT_TRUE(cdn({"foo=(1;a=2 \"x\");b, max-age=5"}));
  for (std::string_view value : {"foo=(1 2", "foo=(1,2)", "foo=((1))", "foo=(1)(2)", "foo=(1)x"}) {
    EXPECT_EQ(cdn({value}), std::nullopt) << value;
  }
}

TEST(CdnCacheControl, StringsTokensBytes) {
  EXPECT_TRUE(cdn({R"(foo="a\"b\\c", max-age=5)"}));
  EXPECT_TRUE(cdn({"foo=*tok/en:x, bar=:aGVsbG8=:, baz=:: "}));
  for (std::string_view value :
       {R"(foo="a\nb")", "foo=\"unterminated", "foo=\"\xc3\xa9\"", "foo=\"tab\there\"",
        "foo=:aGVs bG8=:", "foo=:abc", "foo=@x", "foo=%x"}) {
    EXPECT_EQ(cdn({value}), std::nullopt) << value;
  }
}

TEST(CdnCacheControl, Whitespace) {
  EXPECT_EQ(cdn({"  max-age=60"})->max_age, 60u);
  EXPECT_EQ(cdn({"max-age=60  "})->max_age, 60u);
  auto d = cdn({"max-age=60 ,  no-store,\tpublic"});  // OWS around commas
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->no_store);
  EXPECT_TRUE(d->is_public);
}

TEST(CdnCacheControl, FieldLinesAreJoined) {
  auto d = cdn({"max-age=60", "no-store"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->max_age, 60u);
  EXPECT_TRUE(d->no_store);
  EXPECT_EQ(cdn({"max-age=60", "max-age=30"})->max_age, 30u);  // last wins across lines
  EXPECT_EQ(cdn({"max-age=60", ""}), std::nullopt);            // ", " then nothing
  EXPECT_EQ(cdn({"max-age=60", "Bad"}), std::nullopt);
  // Lines are joined before parsing, so a String may span them (and gains the ", ").
  EXPECT_TRUE(cdn({"foo=\"a", "b\", max-age=1"}));
}

TEST(CdnCacheControl, ManyMembers) {
  std::string many = "max-age=1";
  for (int i = 0; i < 10000; ++i) many += ", k" + std::to_string(i) + "=" + std::to_string(i);
  many += ", no-store, max-age=9";
  auto d = cdn({many});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->max_age, 9u);  // the last of the two, despite the members between them
  EXPECT_TRUE(d->no_store);
  EXPECT_EQ(cdn({many + ", K"}), std::nullopt);  // one error at the very end still voids it
}

TEST(CdnCacheControl, OtherTargetedFieldName) {
  HeaderMap h;
  h.add("Akamai-Cache-Control", "max-age=5");
  h.add("cdn-cache-control", "max-age=9");
  EXPECT_EQ(parse_cdn_cache_control(h, "akamai-cache-control")->max_age, 5u);
  EXPECT_EQ(parse_cdn_cache_control(h)->max_age, 9u);
  EXPECT_EQ(parse_cdn_cache_control(h, "fastly-cache-control"), std::nullopt);
}

}  // namespace
}  // namespace stavka::http
