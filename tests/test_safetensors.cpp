// The safetensors reader: what it accepts, and every rule it enforces, on small files
// built in memory by test_support::safetensors_builder.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include <minilm/safetensors.hpp>

#include "support.hpp"

using minilm::errc;
using test_support::safetensors_builder;

namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

minilm::safetensors_file parse(const std::string& bytes) {
  return minilm::safetensors_file::from_buffer(as_bytes(bytes), "'test.safetensors'");
}

// The error a file gets, as "code: message"; "accepted" when it loads.
struct rejection {
  errc code{};
  std::string message;
};
rejection reject(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const minilm::error& e) {
    return {e.code(), e.what()};
  }
  FAIL("the file was accepted");
  return {};
}

// A header with one F32 tensor "x" of shape [2, 2] and 16 bytes of data, with `entry`
// replacing that tensor's JSON description.
std::string with_entry(const std::string& entry, std::size_t data_bytes = 16) {
  return safetensors_builder::assemble("{\"x\":" + entry + "}", std::string(data_bytes, '\0'));
}

void check_rejected(const std::string& bytes, std::initializer_list<std::string> needles) {
  const rejection r = reject(bytes);
  CHECK(r.code == errc::invalid_safetensors);
  CHECK(r.message.rfind("minilm: 'test.safetensors'", 0) == 0);
  for (const auto& needle : needles) {
    INFO("message: " << r.message);
    CHECK(r.message.find(needle) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("a valid file exposes names, dtypes, shapes, metadata and zero-copy data") {
  const std::string bytes = safetensors_builder()
                                .metadata(R"({"format":"pt"})")
                                .add_f32("a.weight", {2, 3}, 1.0f)
                                .add_f32("a.bias", {3}, -1.0f)
                                .add_raw("ids", "I64", {1, 2}, std::string(16, '\0'))
                                .build();
  const auto file = parse(bytes);
  REQUIRE(file.tensors().size() == 3);
  CHECK(file.metadata().at("format") == "pt");

  const minilm::tensor_view& w = file.at("a.weight");
  CHECK(w.type() == minilm::dtype::f32);
  CHECK(w.shape() == std::vector<std::int64_t>{2, 3});
  CHECK(w.n_elements() == 6);
  CHECK(w.bytes().size() == 24);
  CHECK(w.f32()[0] == 1.0f);
  CHECK(w.f32()[5] == doctest::Approx(1.005f));
  // Zero-copy: the view points into the buffer itself.
  CHECK(reinterpret_cast<const char*>(w.f32()) >= bytes.data());
  CHECK(reinterpret_cast<const char*>(w.f32()) < bytes.data() + bytes.size());

  CHECK(file.at("ids").type() == minilm::dtype::i64);
  CHECK(file.find("missing") == nullptr);
  CHECK(w.describe() == "'a.weight' (F32 [2, 3])");
}

TEST_CASE("tensors are listed in data order and zero-sized tensors are allowed") {
  const auto file = parse(safetensors_builder().add_f32("b", {2}).add_f32("empty", {0, 4}).add_f32("a", {1}).build());
  REQUIRE(file.tensors().size() == 3);
  CHECK(file.tensors()[0].name() == "b");
  CHECK(file.at("empty").n_elements() == 0);
  CHECK(file.tensors()[2].name() == "a");
}

TEST_CASE("an empty header with no data is a valid file") {
  CHECK(parse(safetensors_builder::assemble("{}", "")).tensors().empty());
}

TEST_CASE("F16 and BF16 tensors convert to F32 on request; other dtypes refuse") {
  // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal = 0x0001, +inf = 0x7C00
  const std::uint16_t halves[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000};
  // BF16: 1.0 = 0x3F80, -0.5 = 0xBF00, 3.140625 = 0x4049
  const std::uint16_t bfloats[] = {0x3F80, 0xBF00, 0x4049};
  std::string h(sizeof halves, '\0'), b(sizeof bfloats, '\0');
  std::memcpy(h.data(), halves, sizeof halves);
  std::memcpy(b.data(), bfloats, sizeof bfloats);
  const std::string bytes = safetensors_builder().add_raw("h", "F16", {6}, h).add_raw("b", "BF16", {3}, b)
                                .add_raw("i", "I32", {1}, std::string(4, '\0')).build();
  const auto file = parse(bytes);  // the views point into `bytes`

  const std::vector<float> hf = file.at("h").to_f32();
  CHECK(hf[0] == 1.0f);
  CHECK(hf[1] == -2.0f);
  CHECK(hf[2] == 65504.0f);
  CHECK(hf[3] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(hf[4]));
  CHECK(std::signbit(hf[5]));
  CHECK(file.at("b").to_f32() == std::vector<float>{1.0f, -0.5f, 3.140625f});

  CHECK_THROWS_AS(file.at("h").f32(), minilm::error);
  CHECK_THROWS_AS(file.at("i").to_f32(), minilm::error);
}

TEST_CASE("a missing tensor names the file and the tensor") {
  const auto file = parse(safetensors_builder().add_f32("a", {1}).build());
  try {
    file.at("encoder.layer.0.bias");
    FAIL("expected an error");
  } catch (const minilm::error& e) {
    CHECK(e.code() == errc::missing_tensor);
    CHECK(std::string(e.what()) == "minilm: 'test.safetensors': no tensor named 'encoder.layer.0.bias'");
  }
}

TEST_CASE("rules on the header length") {
  SUBCASE("shorter than 8 bytes") { check_rejected(std::string(7, '\0'), {"7 bytes", "shorter than the 8-byte"}); }
  SUBCASE("zero-length header") { check_rejected(safetensors_builder::length_prefix(0), {"does not start with '{'"}); }
  SUBCASE("header runs past the end") {
    check_rejected(safetensors_builder::length_prefix(100) + "{}", {"header length 100", "past the end"});
  }
  SUBCASE("2^64 - 1") { check_rejected(safetensors_builder::length_prefix(~0ull) + "{}", {"exceeds the limit"}); }
  SUBCASE("over the 100 MB cap") {
    check_rejected(safetensors_builder::length_prefix(100'000'001) + "{}", {"exceeds the limit of 100000000"});
  }
}

TEST_CASE("rules on the header JSON") {
  SUBCASE("not UTF-8") { check_rejected(safetensors_builder::assemble("{\"\xff\xfe\":1}", ""), {"not valid JSON"}); }
  SUBCASE("not JSON") { check_rejected(safetensors_builder::assemble("{nope", ""), {"not valid JSON"}); }
  SUBCASE("not an object") { check_rejected(safetensors_builder::assemble("[1,2]", ""), {"does not start with '{'"}); }
  SUBCASE("nested too deeply") {
    check_rejected(safetensors_builder::assemble("{\"x\":" + std::string(5000, '[') + std::string(5000, ']') + "}", ""),
                   {"not valid JSON"});
  }
  SUBCASE("duplicate tensor names") {
    const std::string e = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
    check_rejected(safetensors_builder::assemble("{\"x\":" + e + ",\"x\":" + e + "}", std::string(4, '\0')),
                   {"key 'x' appears more than once"});
  }
  SUBCASE("metadata that is not an object") {
    check_rejected(safetensors_builder::assemble(R"({"__metadata__":[1]})", ""), {"metadata must be an object"});
  }
  SUBCASE("metadata values that are not strings") {
    check_rejected(safetensors_builder::assemble(R"({"__metadata__":{"format":1}})", ""),
                   {"field '__metadata__.format'", "metadata values must be strings"});
  }
  SUBCASE("a tensor entry that is not an object") {
    check_rejected(safetensors_builder::assemble(R"({"x":5})", ""), {"field 'x'", "must be an object"});
  }
  SUBCASE("an unknown field in a tensor entry") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,16],"strides":[2,1]})"),
                   {"field 'x.strides'", "unknown field"});
  }
}

TEST_CASE("rules on dtype and shape") {
  SUBCASE("unknown dtype") {
    check_rejected(with_entry(R"({"dtype":"F128","shape":[2,2],"data_offsets":[0,16]})"), {"unknown dtype 'F128'", "'x'"});
  }
  SUBCASE("missing dtype") { check_rejected(with_entry(R"({"shape":[2,2],"data_offsets":[0,16]})"), {"no string 'dtype'"}); }
  SUBCASE("negative dimension") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]})"), {"not a non-negative integer"});
  }
  SUBCASE("fractional dimension") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[2.5,2],"data_offsets":[0,16]})"), {"not a non-negative integer"});
  }
  SUBCASE("absurd rank") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]})", 4),
                   {"rank 17"});
  }
  SUBCASE("element count overflows") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]})"),
                   {"overflows 64 bits"});
  }
  SUBCASE("byte size overflows") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[4611686018427387904,2],"data_offsets":[0,16]})"),
                   {"overflows 64 bits"});
  }
  SUBCASE("shape and offsets disagree") {
    check_rejected(with_entry(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,16]})"),
                   {"'x' (F32 [2, 3]) needs 24 bytes but its offsets span 16"});
  }
  SUBCASE("sub-byte dtype that does not fill whole bytes") {
    check_rejected(with_entry(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})", 2), {"whole number of bytes"});
  }
}

TEST_CASE("rules on data offsets") {
  const std::string a4 = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  auto two = [&](const std::string& b_offsets, std::size_t data_bytes) {
    return safetensors_builder::assemble(
        "{" + a4 + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":)" + b_offsets + "}}", std::string(data_bytes, '\0'));
  };
  SUBCASE("valid") { CHECK(parse(two("[4,8]", 8)).tensors().size() == 2); }
  SUBCASE("reversed") { check_rejected(two("[8,4]", 8), {"'b' ends (4) before it begins (8)"}); }
  SUBCASE("overlapping") { check_rejected(two("[2,6]", 8), {"'b' starts at data offset 2", "(overlap)"}); }
  SUBCASE("leaving a gap") { check_rejected(two("[8,12]", 12), {"'b' starts at data offset 8", "(gap)"}); }
  SUBCASE("past the end of the file") { check_rejected(two("[4,8]", 6), {"cover 8 bytes", "holds 6", "truncated"}); }
  SUBCASE("data region longer than the last tensor") { check_rejected(two("[4,8]", 9), {"holds 9", "trailing bytes"}); }
  SUBCASE("not a pair") {
    check_rejected(safetensors_builder::assemble("{" + a4 + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[4]}})",
                                                 std::string(8, '\0')),
                   {"needs exactly [begin, end]"});
  }
  SUBCASE("negative offset") { check_rejected(two("[-4,8]", 8), {"not a non-negative integer"}); }
}

TEST_CASE("a file truncated at any byte is rejected, never read past its end") {
  const std::string bytes = safetensors_builder().metadata(R"({"format":"pt"})").add_f32("w", {4, 4}).add_f32("b", {4}).build();
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    INFO("truncated to " << cut << " bytes");
    // A private copy of exactly `cut` bytes, so an overread is a sanitizer finding.
    std::vector<std::byte> copy(cut);
    if (cut != 0) std::memcpy(copy.data(), bytes.data(), cut);  // data() may be null when empty
    CHECK_THROWS_AS(minilm::safetensors_file::from_buffer(copy, "cut"), minilm::error);
  }
}

TEST_CASE("open() maps a file and names it in errors") {
  test_support::temp_dir dir;
  test_support::write_file(dir / "good.safetensors", safetensors_builder().add_f32("w", {3}, 2.0f).build());
  const auto file = minilm::safetensors_file::open(dir / "good.safetensors");
  CHECK(file.at("w").f32()[0] == 2.0f);
  CHECK(file.size_bytes() == std::filesystem::file_size(dir / "good.safetensors"));

  test_support::write_file(dir / "bad.safetensors", "short");
  try {
    minilm::safetensors_file::open(dir / "bad.safetensors");
    FAIL("expected an error");
  } catch (const minilm::error& e) {
    CHECK(std::string(e.what()).find("bad.safetensors") != std::string::npos);
  }
  try {
    minilm::safetensors_file::open(dir / "absent.safetensors");
    FAIL("expected an error");
  } catch (const minilm::error& e) {
    CHECK(e.code() == errc::io);
    CHECK(std::string(e.what()).find("absent.safetensors") != std::string::npos);
  }
  CHECK_THROWS_AS(minilm::safetensors_file::open(dir.path()), minilm::error);  // a directory
}
