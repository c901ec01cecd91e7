import Foundation
import XCTest
import PasticheCore
import PasticheModels
import PasticheTestSupport

/// `--distributed` under Open MPI's `mpirun` (Debian's openmpi-bin, installed by scripts/test.sh),
/// with the TCP transport forced (`--mca btl tcp,self`), so messages take the network path even on
/// one machine: data-parallel training equals one process at the same global batch, a run resumes
/// under another rank count, a killed rank ends the job fast with its checkpoint intact, and
/// distributed `stylize` and `embed add` give the files and records one process gives.
final class DistributedTests: CLITestCase {
    /// Final weights and per-step losses of N ranks against one process, relative to the size of
    /// what is compared. The trainer sums per-sample gradients in a fixed pairwise tree, so two
    /// ranks holding power-of-two halves of the batch reproduce one process's sums bit for bit;
    /// the tests assert that too, and the tolerance is what the design promises for other splits.
    static let relativeTolerance = 1e-5

    var mpirunPath: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        if mpirunPath == nil {
            try skipOrRequire("no mpirun (Debian: openmpi-bin; scripts/test.sh installs it)", variable: "PASTICHE_REQUIRE_MPI")
        }
    }

    /// `mpirun -np N pastiche ARGS`, TCP only, on the loopback interface.
    func mpirunArguments(_ np: Int, _ args: [String]) -> [String] {
        ["-np", "\(np)", "--oversubscribe", "--mca", "btl", "tcp,self", "--mca", "pml", "ob1",
         "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", "--bind-to", "none",
         CLI.binaryPath] + args
    }

    func startMPI(_ np: Int, _ args: [String]) throws -> RunningCLI {
        // Each rank one thread: two ranks share this machine's cores.
        try ProcessRunner.start(mpirunPath!, mpirunArguments(np, args), environment: CLI.environment.merging([
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
            "OMPI_MCA_rmaps_base_oversubscribe": "1",
        ]) { $1 }, outputDirectory: scratch)
    }

    @discardableResult
    func mpiOK(_ np: Int, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
        let r = try startMPI(np, args).wait()
        XCTAssertEqual(r.status, 0, r.summary, file: file, line: line)
        return r
    }

    // MARK: Training

    /// Three content photos and two styles, small copies of repository images.
    func trainingData() throws -> (content: String, styles: String) {
        let content = scratch + "/content", styles = scratch + "/styles"
        for d in [content, styles] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        for (repo, name, side) in [("docs/images/chelsea_cat.png", "content/cat.png", 96),
                                   ("docs/images/summer_palace.jpg", "content/palace.png", 96),
                                   ("docs/images/demo.jpg", "content/demo.png", 96),
                                   ("styles/s01_vangogh_starry_night.jpg", "styles/vangogh.png", 160),
                                   ("styles/s04_kandinsky_composition_viii.png", "styles/kandinsky.png", 160)] {
            _ = try smallCopy(of: repo, as: name, maxSide: side)
        }
        return (content, styles)
    }

    func trainArguments(_ data: (content: String, styles: String), steps: Int, output: String,
                        checkpoints: String? = nil, every: Int = 1) -> [String] {
        ["train", "predictor", "--content", data.content, "--styles", data.styles, "--steps", "\(steps)", "--batch", "4",
         "--size", "64", "--seed", "7", "-o", output, "--json"]
            + (checkpoints.map { ["--checkpoint-dir", $0, "--checkpoint-every", "\(every)"] } ?? [])
    }

    /// One training command (`arguments(output, run)`, run "single" or "two") as one process and
    /// as two MPI ranks with --distributed: `steps` logged steps, rank 0's losses equal to the
    /// one process's, and the `prefix` weights of the two models equal bit for bit.
    @discardableResult
    func assertTwoRanksTrainAsOneProcess(name: String, steps: Int, prefix: String,
                                         _ arguments: (_ output: String, _ run: String) -> [String],
                                         file: StaticString = #filePath, line: UInt = #line) throws -> (single: String, two: String) {
        let single = scratch + "/\(name)-single.safetensors", two = scratch + "/\(name)-two.safetensors"
        let plain = try ok(arguments(single, "single"), withLibrary: false, file: file, line: line)
        let parallel = try mpiOK(2, arguments(two, "two") + ["--distributed"], file: file, line: line)
        XCTAssertEqual(stepTotals(plain).count, steps, file: file, line: line)
        XCTAssertEqual(stepTotals(plain), stepTotals(parallel), "rank 0's losses are one process's", file: file, line: line)
        XCTAssertEqual(try relativeDifference(single, two, prefix: prefix), 0, "the same \(prefix)* weights, bit for bit", file: file, line: line)
        return (single, two)
    }

    func stepTotals(_ r: CLIResult) -> [Double] {
        r.stdoutText.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["total"] as? Double
        }
    }

    /// max |a − b| over the largest |a|, per tensor, worst over the tensors both models train
    /// (those named `prefix…`).
    func relativeDifference(_ a: String, _ b: String, prefix: String = "predictor.") throws -> Double {
        let x = try ModelWeights.load(path: a), y = try ModelWeights.load(path: b)
        var worst = 0.0
        for (name, s) in x.tensors where name.hasPrefix(prefix) {
            let t = try XCTUnwrap(y.tensors[name], name)
            XCTAssertEqual(s.count, t.count, name)
            var scale = 0.0, diff = 0.0
            for i in 0..<s.count {
                scale = max(scale, Double(abs(s.data[i])))
                diff = max(diff, Double(abs(s.data[i] - t.data[i])))
            }
            if scale > 0 { worst = max(worst, diff / scale) }
        }
        return worst
    }

    func assertLossesMatch(_ a: [Double], _ b: [Double], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertLessThanOrEqual(abs(x - y) / max(abs(x), 1e-12), Self.relativeTolerance, "\(a) vs \(b)", file: file, line: line)
        }
    }

    func testTwoRanksTrainAsOneProcessAtTheSameGlobalBatch() throws {
        let data = try trainingData()
        let single = scratch + "/single.safetensors", flagged = scratch + "/flagged.safetensors", two = scratch + "/two.safetensors"
        let plain = try ok(trainArguments(data, steps: 5, output: single), withLibrary: false)
        // --distributed without mpirun is the plain command, bit for bit.
        let alone = try ok(trainArguments(data, steps: 5, output: flagged) + ["--distributed"], withLibrary: false)
        XCTAssertEqual(stepTotals(plain), stepTotals(alone))
        XCTAssertEqual(try relativeDifference(single, flagged), 0)

        let r = try mpiOK(2, trainArguments(data, steps: 5, output: two) + ["--distributed"])
        XCTAssertEqual(stepTotals(plain).count, 5)
        assertLossesMatch(stepTotals(plain), stepTotals(r))   // rank 0 alone prints the steps
        let d = try relativeDifference(single, two)
        print("2 ranks against 1 process, 5 steps at global batch 4: weights max relative difference \(d)")
        XCTAssertLessThanOrEqual(d, Self.relativeTolerance)
        XCTAssertEqual(d, 0, "halves of a power-of-two batch give one process's tree sums exactly")
        XCTAssertEqual(stepTotals(plain), stepTotals(r))
        let log = try String(contentsOfFile: (two as NSString).deletingPathExtension + ".train.jsonl", encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").count, 5, "one log, written by rank 0")
    }

    /// `train transfer` (a per-style network) under mpirun: the same losses and the same
    /// transfer weights as one process, bit for bit.
    func testTwoRanksTrainAPerStyleNetworkAsOneProcess() throws {
        let data = try trainingData()
        let style = data.styles + "/vangogh.png"
        func arguments(_ output: String) -> [String] {
            ["train", "transfer", "--style-image", style, "--content", data.content, "--steps", "3", "--batch", "4",
             "--size", "64", "--seed", "7", "-o", output, "--json"]
        }
        try assertTwoRanksTrainAsOneProcess(name: "transfer", steps: 3, prefix: "transfer.") { output, _ in arguments(output) }
    }

    /// `train transfer --styles` (an N-style network) under mpirun: the same losses, transfer
    /// weights and learned embeddings as one process, bit for bit.
    func testTwoRanksTrainAnNStyleNetworkAsOneProcess() throws {
        let data = try trainingData()
        func arguments(_ output: String, _ library: String) -> [String] {
            ["train", "transfer", "--styles", data.styles, "--content", data.content, "--steps", "3", "--batch", "4",
             "--size", "64", "--seed", "7", "-o", output, "--json", "--library", library]
        }
        let (single, two) = try assertTwoRanksTrainAsOneProcess(name: "n", steps: 3, prefix: "transfer.") { output, run in
            arguments(output, scratch + "/lib-" + run)
        }
        let a = try ModelWeights.load(path: single).learnedStyles, b = try ModelWeights.load(path: two).learnedStyles
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a, b, "the same learned embeddings, bit for bit")
        XCTAssertEqual(try names(tag: "learned", library: scratch + "/lib-two").count, 2, "rank 0 stores them once")
    }

    /// `train adain` under mpirun: the same losses and decoder as one process, bit for bit.
    func testTwoRanksTrainAnAdaINDecoderAsOneProcess() throws {
        let data = try trainingData()
        let dir = scratch + "/adain"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try ProcessRunner.run("/usr/bin/env", ["python3", CLI.repoRoot + "/scripts/adain-torch-files.py", "write", dir], outputDirectory: scratch)
        if r.status != 0 { try skipOrRequire("scripts/adain-torch-files.py needs python3 with numpy: \(r.stderr)") }
        let model = dir + "/adain.safetensors"
        try ok(["model", "import", "--adain-encoder", dir + "/vgg_normalised.pth", "--adain-decoder", dir + "/decoder.pth", "-o", model],
               withLibrary: false)
        func arguments(_ output: String) -> [String] {
            ["train", "adain", "--model", model, "--content", data.content, "--styles", data.styles, "--steps", "2", "--batch", "4",
             "--size", "32", "--seed", "5", "-o", output, "--json"]
        }
        try assertTwoRanksTrainAsOneProcess(name: "adain", steps: 2, prefix: "adain.decoder.") { output, _ in arguments(output) }
    }

    func testACheckpointOfTwoRanksResumesInOneProcess() throws {
        let data = try trainingData()
        let whole = scratch + "/whole.safetensors", split = scratch + "/split.safetensors", ckpt = scratch + "/ckpt"
        let uninterrupted = try ok(trainArguments(data, steps: 5, output: whole), withLibrary: false)
        try mpiOK(2, trainArguments(data, steps: 3, output: split, checkpoints: ckpt, every: 3) + ["--distributed"])
        let resumed = try ok(["train", "predictor", "--resume", ckpt + "/checkpoint-00000003.safetensors", "--steps", "5", "--json"],
                             withLibrary: false)
        assertLossesMatch(Array(stepTotals(uninterrupted).suffix(2)), stepTotals(resumed))
        let d = try relativeDifference(whole, split)
        print("2 ranks to step 3, then 1 process to step 5, against 5 uninterrupted steps: weights max relative difference \(d)")
        XCTAssertLessThanOrEqual(d, Self.relativeTolerance)
        XCTAssertEqual(d, 0)
        // And back: the one-process checkpoint continues under two ranks.
        try mpiOK(2, ["train", "predictor", "--resume", ckpt + "/checkpoint-00000005.safetensors", "--steps", "6", "--distributed"])
        XCTAssertEqual(try ModelWeights.load(path: split).metadata["trained_steps"], "6")
    }

    func testAKilledRankEndsTheJobAndTheCheckpointResumes() throws {
        let data = try trainingData()
        let out = scratch + "/killed.safetensors", ckpt = scratch + "/ckpt"
        // A checkpoint every 2 steps (each holds the parameters and Adam's moments, 30 MB).
        let job = try startMPI(2, trainArguments(data, steps: 10_000, output: out, checkpoints: ckpt, every: 2) + ["--distributed"])
        // Wait for a checkpoint, then SIGKILL rank 1 (found by the rank mpirun put in its environment).
        let deadline = Date().addingTimeInterval(120)
        var rank1: pid_t?
        while Date() < deadline {
            let done = (try? FileManager.default.contentsOfDirectory(atPath: ckpt))?.filter { $0.hasPrefix("checkpoint-") } ?? []
            if !done.isEmpty { rank1 = try processOfRank(1, withArgument: out); if rank1 != nil { break } }
            usleep(100_000)
        }
        let victim = try XCTUnwrap(rank1, "no checkpoint or no rank 1 within 120 s")
        kill(victim, SIGKILL)
        let killedAt = Date()
        let r = try job.wait()
        let seconds = Date().timeIntervalSince(killedAt)
        print("rank 1 killed: mpirun exited \(r.status) after \(String(format: "%.2f", seconds)) s")
        XCTAssertNotEqual(r.status, 0, r.summary)
        XCTAssertLessThan(seconds, 10, r.summary)
        XCTAssertTrue(r.stderr.contains("rank 1"), "mpirun's report names the rank: \(r.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no model from a killed run")
        // The newest checkpoint is whole: a single process resumes from it for one more step.
        let last = try XCTUnwrap((try FileManager.default.contentsOfDirectory(atPath: ckpt))
            .filter { $0.hasPrefix("checkpoint-") && $0.hasSuffix(".safetensors") }.sorted().last)
        let step = Int(last.dropFirst("checkpoint-".count).prefix(8))!
        try ok(["train", "predictor", "--resume", ckpt + "/" + last, "--steps", "\(step + 1)"], withLibrary: false)
        XCTAssertEqual(try ModelWeights.load(path: out).metadata["trained_steps"], "\(step + 1)")
    }

    /// The pid of the pastiche process with OMPI_COMM_WORLD_RANK=rank whose arguments include `argument`.
    func processOfRank(_ rank: Int, withArgument argument: String) throws -> pid_t? {
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = pid_t(entry),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
            let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let env = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if args.first == CLI.binaryPath, args.contains(argument), env.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    // MARK: Files across ranks

    func photoFolder() throws -> String {
        let dir = scratch + "/photos"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        _ = try smallCopy(of: "docs/images/chelsea_cat.png", as: "photos/cat.png", maxSide: 80)
        _ = try smallCopy(of: "docs/images/summer_palace.jpg", as: "photos/palace.png", maxSide: 72)
        _ = try smallCopy(of: "docs/images/demo.jpg", as: "photos/sub/demo.png", maxSide: 64)
        _ = try smallCopy(of: "styles/s02_klimt_the_kiss.png", as: "photos/sub/klimt.png", maxSide: 76)
        _ = try smallCopy(of: "styles/s06_renoir_moulin_de_la_galette.png", as: "photos/renoir.png", maxSide: 68)
        return dir
    }

    func files(under dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for case let rel as String in FileManager.default.enumerator(atPath: dir)! {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + rel, isDirectory: &isDir), !isDir.boolValue {
                out[rel] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + rel))
            }
        }
        return out
    }

    func testDistributedStylizeWritesWhatOneProcessWrites() throws {
        let photos = try photoFolder()
        let style = try smallCopy(of: "styles/s03_hokusai_great_wave.png", as: "wave.png", maxSide: 200)
        try ok(["stylize", photos, "--style-image", style, "-o", scratch + "/one/"], withLibrary: false)
        try mpiOK(2, ["stylize", "--distributed", photos, "--style-image", style, "-o", scratch + "/two/"])
        let one = try files(under: scratch + "/one"), two = try files(under: scratch + "/two")
        XCTAssertEqual(one.count, 5)
        XCTAssertEqual(Set(one.keys), Set(two.keys))
        for (name, data) in one { XCTAssertEqual(data, two[name], name) }
    }

    /// `embed export -` as JSON objects by name, without the time each was added.
    func records(_ lib: String) throws -> [String: NSDictionary] {
        let object = try JSONSerialization.jsonObject(with: try export(library: lib)) as? [String: Any]
        var out: [String: NSDictionary] = [:]
        for case var style as [String: Any] in object?["styles"] as? [Any] ?? [] {
            style.removeValue(forKey: "added")
            out[style["name"] as? String ?? ""] = style as NSDictionary
        }
        return out
    }

    func testDistributedEmbedAddStoresWhatOneProcessStores() throws {
        let photos = try photoFolder()
        let one = scratch + "/one-library", two = scratch + "/two-library"
        try ok(["embed", "add", photos, "--tag", "set"], library: one)
        try mpiOK(2, ["embed", "add", "--distributed", photos, "--tag", "set", "--library", two])
        let a = try records(one), b = try records(two)
        XCTAssertEqual(a.count, 5)
        XCTAssertEqual(a, b)
        // Again: every record is reused, nothing changes.
        let again = try mpiOK(2, ["embed", "add", "--distributed", photos, "--library", two, "--json"])
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: again.stdout) as? [[String: Any]])
        XCTAssertEqual(rows.count, 5)
        XCTAssert(rows.allSatisfy { $0["reused"] as? Bool == true }, again.stdoutText)
        XCTAssertEqual(try records(two), b)
    }

    func testDistributedNeedsFitSettingsAndSaysSoInOneLine() throws {
        let data = try trainingData()
        // A global batch that does not split over the ranks: refused before any step.
        let r = try startMPI(2, ["train", "predictor", "--content", data.content, "--styles", data.styles, "--batch", "3",
                                 "--size", "64", "--steps", "1", "-o", scratch + "/x.safetensors", "--distributed"]).wait()
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--batch 3") && r.stderr.contains("2 ranks"), r.stderr)
        // The same bad setting on every rank: rank 0 alone says so, in one line.
        XCTAssertEqual(r.stderr.components(separatedBy: "pastiche: error:").count - 1, 1, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/x.safetensors"))
        // Launched by mpirun without --distributed: every rank would do the whole job.
        let t = try startMPI(2, ["stylize", CLI.repoRoot + "/docs/images/chelsea_cat.png", "--style-image",
                                 CLI.repoRoot + "/styles/s01_vangogh_starry_night.jpg", "-o", scratch + "/y.png"]).wait()
        XCTAssertNotEqual(t.status, 0)
        XCTAssertTrue(t.stderr.contains("--distributed"), t.stderr)
    }
}
