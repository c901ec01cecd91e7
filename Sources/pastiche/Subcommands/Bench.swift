import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

struct BenchCommand: ParsableCommand {
    enum Network: String, ExpressibleByArgument, CaseIterable { case predictor, transfer }

    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the predictor (256²) and transfer network (384², 1024²) beside onnxruntime.",
        discussion: "Median of --runs timed runs after one warm-up. onnxruntime (2 threads, float graph) runs in the same invocation when python3 can import it, in turns with Pastiche (three per case), each turn starting once the other side's threads are idle, so both sides see the same machine load."
    )
    @OptionGroup var model: ModelOptions
    @Option(help: "Timed runs per case.") var runs: Int = 9
    @Flag(name: .customLong("no-ort"), help: "Skip onnxruntime.") var noOrt = false
    @Option(help: "Time only this network: predictor or transfer.") var only: Network?
    @Flag(help: "One JSON object: predict_256_ms, transfer_384_ms, transfer_1024_ms and ort_… counterparts.") var json = false
    @Option(help: "Instead: time stylization with a style per region (N feathered stripes) against plain, at 1024².")
    var masks: Int?
    @Option(help: "With --masks: blur the stripes' edges over about PX pixels, as stylize --feather does.") var feather: Double = 16
    @Flag(help: "Instead: time VGG-19's forward (all 16 convs) at 256² and 512² beside onnxruntime on its exported graph.")
    var vgg = false
    @Option(name: .customLong("loss-network"), help: "With --vgg: VGG-19 weights. Default: $PASTICHE_HOME/models/\(VGG19Weights.fileName).")
    var lossNetwork: String?

    func validate() throws {
        guard (1...1000).contains(runs) else { throw ValidationError("--runs must be in 1...1000") }
        if let masks, !(1...16).contains(masks) { throw ValidationError("--masks must be from 1 to 16 regions") }
        if masks != nil && only != nil { throw ValidationError("--masks times the transfer network only; drop --only") }
        if vgg && (masks != nil || only != nil) { throw ValidationError("--vgg times VGG-19 alone; drop --masks and --only") }
        if lossNetwork != nil && !vgg { throw ValidationError("--loss-network goes with --vgg") }
        if !feather.isFinite || feather < 0 || feather > 1000 { throw ValidationError("--feather must be from 0 to 1000 pixels, got \(feather)") }
    }

    func run() throws {
        if vgg { return try runVGG() }
        let stylizer = try model.loadStylizer()
        if stylizer.isAdaIN { throw ValidationError("bench times Ghiasi et al.'s predictor and transfer network; \(model.path) is an AdaIN model") }
        if let masks { return try runMasked(stylizer, regions: masks) }
        let onnx = noOrt ? nil : PasticheHome().modelsDirectory
        let cases = Benchmark.run(stylizer: stylizer, runs: runs, predictor: only != .transfer,
                                  transferSizes: only == .predictor ? [] : [384, 1024],
                                  onnxDirectory: onnx) { Terminal.progress("timing \($0)") }
        Terminal.endProgress()
        try printCases(cases)
        let width = stylizer.predictor.architecture.width
        if width != 1 && only != .transfer {
            Terminal.note("this model's predictor has width \(stylizer.predictor.architecture.widthText); onnxruntime ran Magenta's width-1 predictor")
        }
        if !noOrt && cases.first?.ortMs == nil {
            Terminal.note("onnxruntime not measured (needs python3 with onnxruntime and onnx, and the ONNX files from `pastiche model fetch`)")
        }
    }

    private func runVGG() throws {
        let path = lossNetwork ?? PasticheHome().vgg19Model
        if lossNetwork == nil && !FileManager.default.fileExists(atPath: path) {
            throw ModelError("no VGG-19 at \(path); run `pastiche model fetch` first, or pass --loss-network")
        }
        let network = try VGG19.load(path: path)
        var onnx: String? = nil
        if !noOrt {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("pastiche-bench-vgg19-\(getpid()).onnx").path
            let last = network.architecture.layers.last!
            try AtomicFile.write(try ONNXExporter.vgg19(network, through: last, outputs: [last],
                                                        provenance: ONNXExporter.Provenance(pasticheVersion: PasticheVersion.string)),
                                 to: file)
            onnx = file
        }
        defer { if let onnx { try? FileManager.default.removeItem(atPath: onnx) } }
        let cases = Benchmark.vgg(network, sizes: [256, 512], runs: runs, vggONNX: onnx) { Terminal.progress("timing \($0)") }
        Terminal.endProgress()
        try printCases(cases)
        if !noOrt && cases.first?.ortMs == nil {
            Terminal.note("onnxruntime not measured (needs python3 with onnxruntime)")
        }
    }

    private func printCases(_ cases: [Benchmark.Case]) throws {
        if json {
            var object: [String: Double] = [:]
            for c in cases {
                object["\(c.name)_ms"] = c.pasticheMs
                object["\(c.name)_gflops"] = c.gflops
                if let o = c.ortMs { object["ort_\(c.name)_ms"] = o }
                if let r = c.ratio { object["\(c.name)_ratio"] = r }
            }
            try Terminal.printJSON(object)
            return
        }
        print("case           pastiche ms   onnxruntime ms   ratio   GFLOP   GFLOP/s")
        for c in cases {
            let ort = c.ortMs.map { String(format: "%14.2f", $0) } ?? "             –"
            let ratio = c.ratio.map { String(format: "%7.2f", $0) } ?? "      –"
            print(String(format: "%-14@ %11.2f", c.name as NSString, c.pasticheMs) + "   \(ort)  \(ratio)"
                  + String(format: "   %5.2f   %7.1f", c.gflop, c.gflops))
        }
    }

    private func runMasked(_ stylizer: Stylizer, regions: Int) throws {
        let c = try Benchmark.masked(stylizer: stylizer, size: 1024, regions: regions, feather: feather, runs: runs) { Terminal.progress("timing \($0)") }
        Terminal.endProgress()
        if json {
            try Terminal.printJSON(["size": Double(c.size), "regions": Double(c.regions), "plain_ms": c.plainMs,
                                    "masked_ms": c.maskedMs, "with_masks_ms": c.withMasksMs, "ratio": c.ratio,
                                    "ratio_with_masks": c.ratioWithMasks])
            return
        }
        print("case (feather \(feather) px)      ms   × plain")
        print(String(format: "plain %4d²              %9.1f      1.00", c.size, c.plainMs))
        print(String(format: "%2d regions, planes given %9.1f   %7.2f", c.regions, c.maskedMs, c.ratio))
        print(String(format: "%2d regions, masks built  %9.1f   %7.2f", c.regions, c.withMasksMs, c.ratioWithMasks))
    }
}
