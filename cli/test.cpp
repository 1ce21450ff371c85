// ptag test FILE... [--filter TEXT] [--verbose]
#include "commands.hpp"
#include "engine_choice.hpp"
#include "ptag/test_runner.hpp"

namespace ptag::cli {

Run add_test(CLI::App& app) {
  struct Options {
    std::vector<std::string> files;
    TestOptions test;
    EngineChoice engine;
  };
  auto o = std::make_shared<Options>();
  app.add_option("files", o->files, "Rule files with test blocks; each runs on its own")->required()->check(CLI::ExistingFile);
  app.add_option("--filter", o->test.filter, "Run only the tests whose name contains this text");
  app.add_flag("-v,--verbose", o->test.verbose, "Print every record and every passing test");
  add_engine_options(app, o->engine);
  app.footer(
      "Runs the test blocks of each file (docs/language.md, \"Tests\") on a fresh engine with the file's rules,\n"
      "and checks '# expect error: LINE:COL: message' lines against the compiler's errors.\n"
      "Prints each failure as FILE:LINE: test \"NAME\": expected ..., got ..., then 'N passed, N failed'.\n"
      "Exit status: 0 when every test passed, 1 otherwise (also when --filter matches no test),\n"
      "2 on usage errors.\n"
      "Examples:\n"
      "  ptag test examples/*.ptag\n"
      "  ptag test tests/conformance/*.ptag --filter exclusive --verbose");
  return [o] {
    if (o->engine.engine == "jit") {  // auto is the VM here: a test's few events never repay a compile
      try {
        Program none;
        prepare_engine(none, o->engine);  // refused here, before any file, if the build lacks the JIT
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ptag test: %s\n", e.what());
        return kUsage;
      }
      o->test.prepare = [o](Program& p) { prepare_engine(p, o->engine); };
    }
    TestSummary s = run_test_files(o->files, o->test, stdout);
    std::printf("%zu passed, %zu failed\n", s.passed, s.failed);
    if (!o->test.filter.empty() && s.tests_run == 0) {
      std::fprintf(stderr, "ptag test: no test name contains '%s' (--filter)\n", o->test.filter.c_str());
      return kFailed;
    }
    return s.failed == 0 ? kOk : kFailed;
  };
}

}  // namespace ptag::cli
