import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary
import PasticheModels

/// The parsers that read untrusted bytes, as fuzz targets: each takes one input and must
/// return or throw, never crash, hang or read out of bounds.
enum FuzzTarget: String, CaseIterable {
    /// PNG decoding (libpng through CPasticheCodecs), at a small pixel budget.
    case png
    /// JPEG decoding with EXIF orientation (libjpeg-turbo through CPasticheCodecs).
    case jpeg
    /// The library's binary style record.
    case record
    /// A safetensors header and tensor table (what `--model` loads).
    case safetensors
    /// A library export (`embed import`).
    case json
    /// A library's data.mdb: the page checker, salvage, and then LMDB itself on what the
    /// checker lets through.
    case library

    /// Small enough that a fuzzer's "image" of 60000×60000 is refused, not allocated.
    static let maxPixels = 1 << 22

    func run(_ bytes: [UInt8], scratch: String) {
        switch self {
        case .png, .jpeg:
            _ = try? ImageIO.info(bytes, name: "input")
            _ = try? ImageIO.decode(bytes, name: "input", maxPixels: Self.maxPixels)
        case .record:
            if let r = try? StyleRecord(encoded: bytes) { _ = r.encoded() }
        case .safetensors:
            if let f = try? Safetensors.parse(Data(bytes), name: "input") { _ = try? ModelWeights(tensors: f.tensors) }
        case .json:
            _ = try? StyleStore.parseExport(Data(bytes))
        case .library:
            let dir = scratch + "/library"
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: dir + "/lock.mdb")
            guard FileManager.default.createFile(atPath: dir + "/data.mdb", contents: Data(bytes)) else { return }
            _ = try? LMDBFile.check(path: dir + "/data.mdb")
            _ = try? LMDBFile.salvage(path: dir + "/data.mdb")
            if let store = try? StyleStore(path: dir, readOnly: true) {
                _ = try? store.scan()
                _ = try? store.verify()
                for name in (try? store.names()) ?? [] { _ = try? store.get(name) }
            }
        }
    }
}

/// A scratch directory of this process for targets that need files.
let fuzzScratch: String = {
    let dir = NSTemporaryDirectory() + "pastiche-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

#if FUZZING
/// libFuzzer's entry point (built with -sanitize=fuzzer; scripts/fuzz.sh). The target comes
/// from PASTICHE_FUZZ_TARGET.
let fuzzTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["PASTICHE_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        fputs("set PASTICHE_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n", stderr)
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzTarget.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)), scratch: fuzzScratch)
    return 0
}

/// libFuzzer's driver (compiler-rt), called from this executable's own entry point: SwiftPM
/// names the entry point of every executable target, so libFuzzer's `main` is not used.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main
struct FuzzDriver {
    static func main() {
        var argc = CommandLine.argc
        var argv = Optional(CommandLine.unsafeArgv)
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
    }
}
#else
/// Without the fuzzer: runs each given file, and `--mutations N` bit-flipped and truncated
/// copies of it (`--seed S` replays a run: each run prints its seed first; PASTICHE_FUZZ_LAST=FILE
/// keeps the input being run, so a crash leaves it behind), through a target once — the test
/// suite's smoke run over the seed corpus.
@main
struct FuzzReplay {
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.first == "--make-seeds", args.count == 3 {
            makeSeeds(library: args[1], into: args[2])
            return
        }
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            fputs("usage: pastiche-fuzz TARGET [--mutations N] [--seed S] FILE...; targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n", stderr)
            exit(2)
        }
        args.removeFirst()
        var mutations = 0
        if args.first == "--mutations", args.count >= 2, let n = Int(args[1]) {
            mutations = n
            args.removeFirst(2)
        }
        // A fresh seed each run explores new mutations; it is printed first, so a crash the
        // test suite meets can be replayed with --seed.
        var seedValue = UInt64.random(in: 0...UInt64.max)
        if args.first == "--seed", args.count >= 2, let n = UInt64(args[1]) {
            seedValue = n
            args.removeFirst(2)
        }
        print("\(target.rawValue): seed \(seedValue)")
        fflush(stdout)
        var rng = SplitMix64(seed: seedValue)
        var inputs = 0
        // Each input is written here before it runs, so a crash leaves it behind to replay.
        let lastInput = ProcessInfo.processInfo.environment["PASTICHE_FUZZ_LAST"]
        for file in args {
            guard let data = FileManager.default.contents(atPath: file) else {
                fputs("pastiche-fuzz: cannot read \(file)\n", stderr)
                exit(2)
            }
            let seed = [UInt8](data)
            target.run(seed, scratch: fuzzScratch)
            inputs += 1
            for _ in 0..<mutations {
                var m = seed
                if !m.isEmpty {
                    for _ in 0..<Int.random(in: 1...8, using: &rng) {
                        m[Int.random(in: 0..<m.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                    }
                    if Bool.random(using: &rng) { m = Array(m.prefix(Int.random(in: 0...m.count, using: &rng))) }
                }
                if let lastInput { FileManager.default.createFile(atPath: lastInput, contents: Data(m)) }
                target.run(m, scratch: fuzzScratch)
                inputs += 1
            }
        }
        try? FileManager.default.removeItem(atPath: fuzzScratch)
        print("\(target.rawValue): \(inputs) inputs, no crash")
    }

    /// Seeds for the targets whose inputs have no ready-made files: each record of a real
    /// library as its stored bytes, its export, its data.mdb, and a small safetensors file.
    static func makeSeeds(library: String, into dir: String) {
        do {
            let store = try StyleStore(path: library, readOnly: true)
            for t in ["record", "json", "library", "safetensors"] {
                try FileManager.default.createDirectory(atPath: "\(dir)/\(t)", withIntermediateDirectories: true)
            }
            for (i, r) in try store.list().enumerated() {
                try Data(r.encoded()).write(to: URL(fileURLWithPath: "\(dir)/record/style-\(i).bin"))
            }
            try store.exportJSON().data.write(to: URL(fileURLWithPath: "\(dir)/json/export.json"))
            try FileManager.default.copyItem(atPath: library + "/data.mdb", toPath: "\(dir)/library/data.mdb")
            let tensors = ["a.weight": Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), "a.bias": Tensor(shape: [2], values: [0, 1])]
            try Safetensors.write(tensors, metadata: ["architecture": "seed"], to: "\(dir)/safetensors/small.safetensors")
        } catch {
            fputs("pastiche-fuzz: \(error)\n", stderr)
            exit(1)
        }
    }
}
#endif
