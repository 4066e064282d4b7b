// A tiny deterministic stand-in for libFuzzer's driver, so the libFuzzer-style
// harnesses run under gcc and ctest: every file of a seed corpus directory runs
// once, then a fixed-seed pseudo-random mutation loop feeds mutated seeds
// (bit flips, byte inserts/deletes, token inserts, chunk copies, splices,
// truncation) to LLVMFuzzerTestOneInput.
//
//   <harness> CORPUS_DIR [ITERATIONS] [SEED]
// ITERATIONS defaults to $QPLUG_FUZZ_ITERATIONS or 20000. A crash, sanitizer
// report or harness abort fails the test; the input that caused it is written
// to ./crash-<harness>-<iteration> first (written before each run only when
// QPLUG_FUZZ_SAVE=1, to keep the loop fast).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kMaxInput = 4096;

std::vector<Bytes> fuzz_load_corpus(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());  // deterministic order
  std::vector<Bytes> corpus;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return corpus;
}

// Characters that matter to YAML, JSON, msgpack headers and IDs.
const char kTokens[] = "[]{}:,-\n \t\"'*&!#|>?%@`\\.0123456789eE+~\x00\x7f\x80\xc0\xdc\xde\xff";

Bytes fuzz_mutate(const Bytes& seed, const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  Bytes b = seed;
  auto pick = [&rng](size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng() % n); };
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 8) {
      case 0:  // flip a bit
        if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // random byte
        if (!b.empty()) b[pick(b.size())] = static_cast<uint8_t>(rng());
        break;
      case 2:  // insert a token
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)),
                 static_cast<uint8_t>(kTokens[pick(sizeof(kTokens) - 1)]));
        break;
      case 3:  // delete a run
        if (!b.empty()) {
          const size_t at = pick(b.size());
          const size_t len = std::min(b.size() - at, 1 + pick(8));
          b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + len));
        }
        break;
      case 4:  // duplicate a chunk somewhere else
        if (!b.empty()) {
          const size_t at = pick(b.size());
          const size_t len = std::min(b.size() - at, 1 + pick(32));
          Bytes chunk(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + len));
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(pick(b.size() + 1)), chunk.begin(), chunk.end());
        }
        break;
      case 5:  // splice with another seed
        if (!corpus.empty()) {
          const Bytes& other = corpus[pick(corpus.size())];
          const size_t cut = pick(b.size() + 1);
          const size_t from = pick(other.size() + 1);
          b.resize(cut);
          b.insert(b.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        }
        break;
      case 6:  // truncate
        b.resize(pick(b.size() + 1));
        break;
      default:  // swap two bytes
        if (b.size() > 1) std::swap(b[pick(b.size())], b[pick(b.size())]);
        break;
    }
  }
  if (b.size() > kMaxInput) b.resize(kMaxInput);
  return b;
}

void fuzz_save(const Bytes& input, const std::string& name) {
  std::ofstream(name, std::ios::binary)
      .write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS] [SEED]\n", argv[0]);
    return 2;
  }
  const char* env_iterations = std::getenv("QPLUG_FUZZ_ITERATIONS");
  const long iterations = argc > 2 ? std::atol(argv[2]) : (env_iterations ? std::atol(env_iterations) : 20000);
  const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0x9d5f1c2bULL;
  const bool save_each = std::getenv("QPLUG_FUZZ_SAVE") != nullptr;
  const std::string name = std::filesystem::path(argv[0]).filename().string();

  std::vector<Bytes> corpus = fuzz_load_corpus(argv[1]);
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no seed files in %s\n", name.c_str(), argv[1]);
    return 2;
  }
  for (const Bytes& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  LLVMFuzzerTestOneInput(nullptr, 0);

  std::mt19937_64 rng(seed);
  for (long i = 0; i < iterations; ++i) {
    const Bytes input = fuzz_mutate(corpus[static_cast<size_t>(rng() % corpus.size())], corpus, rng);
    if (save_each) fuzz_save(input, "crash-" + name + "-" + std::to_string(i));
    LLVMFuzzerTestOneInput(input.data(), input.size());
    if (save_each) std::filesystem::remove("crash-" + name + "-" + std::to_string(i));
  }
  std::printf("%s: %zu seeds + %ld mutated inputs, no crash\n", name.c_str(), corpus.size(), iterations);
  return 0;
}
