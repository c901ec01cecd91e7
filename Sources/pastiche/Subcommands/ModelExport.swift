import ArgumentParser
import Foundation
import PasticheLibrary
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the model as ONNX graphs (float32, opset 17) for onnxruntime, onnxruntime-web and other runtimes.",
            discussion: """
                Writes DIR/predictor.onnx (style_image [N, H, W, 3] in [0, 1] → style_embedding [N, 100]) \
                and DIR/transfer.onnx (content_image [N, H, W, 3] and style_embedding [N, 100] → \
                stylized_image [N, H, W, 3]), with dynamic batch, height and width. With --style, one \
                file: the transfer graph with that library style baked in (content_image → stylized_image); \
                a per-style model (`train transfer`) is exported that way with its own style. \
                `pastiche model import` reads the pair back bit for bit. With --vgg, one file: VGG-19 \
                (vgg_input [N, 3, H, W], Caffe's BGR 0–255 minus the mean pixel) to every ReLU output \
                (block1_relu1 … block5_relu4), the reference `optimize` is checked against. See docs/export.md.
                """)

        static let predictorFile = "predictor.onnx"
        static let transferFile = "transfer.onnx"

        @OptionGroup var model: ModelOptions
        @OptionGroup var library: LibraryOptions
        @Option(name: .shortAndLong, help: "Output folder; with --style, an .onnx file or - for stdout.") var output: String
        @Option(help: "A library style to bake into a single-input transfer graph.") var style: String?
        @Flag(help: "Export VGG-19 (the loss network of optimize and training) to the one .onnx file -o names.") var vgg = false
        @Option(name: .customLong("loss-network"), help: "With --vgg: VGG-19 weights. Default: $PASTICHE_HOME/models/\(VGG19Weights.fileName).")
        var lossNetwork: String?
        @Option(help: "With --vgg: max or avg pooling between blocks.") var pooling: String = VGGPooling.max.rawValue
        @Flag(help: "Print what was written as JSON.") var json = false

        /// A per-style model (`train transfer`) exports its own style baked in, as --style does.
        var bakesOwnStyle: Bool {
            guard style == nil, !vgg, let path = model.model, let file = try? Safetensors.read(path: path) else { return false }
            return file.metadata[ModelWeights.kindKey] == ModelKind.perStyle.rawValue
        }

        var outputs: [String] {
            if style != nil || vgg || bakesOwnStyle { return [output] }
            return [Self.predictorFile, Self.transferFile].map { (output as NSString).appendingPathComponent($0) }
        }

        func validate() throws {
            guard !output.isEmpty else { throw ValidationError("-o needs a path") }
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory)
            if vgg {
                if style != nil { throw ValidationError("--vgg exports VGG-19 alone; drop --style") }
                if output.hasSuffix("/") || (exists && isDirectory.boolValue) {
                    throw ValidationError("-o \(output) is a folder; with --vgg give the .onnx file to write")
                }
                guard VGGPooling(rawValue: pooling) != nil else { throw ValidationError("--pooling must be max or avg, not '\(pooling)'") }
                try refuseOverwritingInputs(output: output, inputs: [lossNetwork ?? PasticheHome().vgg19Model])
                return
            }
            if lossNetwork != nil || pooling != VGGPooling.max.rawValue {
                throw ValidationError("--loss-network and --pooling go with --vgg")
            }
            if style == nil && !bakesOwnStyle {
                if output == "-" { throw ValidationError("-o - needs --style: without it the export is two files; give a folder") }
                if exists && !isDirectory.boolValue { throw ValidationError("-o \(output) is a file; give a folder for predictor.onnx and transfer.onnx") }
            } else {
                if output.hasSuffix("/") || (exists && isDirectory.boolValue) {
                    throw ValidationError("-o \(output) is a folder; with --style give the .onnx file to write")
                }
                if style?.isEmpty == true { throw ValidationError("--style needs a library style name") }
            }
            for path in outputs { try refuseOverwritingInputs(output: path, inputs: [model.path]) }
        }

        struct Written: Codable { let path: String; let bytes: Int }
        struct Output: Codable {
            let opset: Int
            let predictorID: String
            let predictorWidth: String
            let style: String?
            let files: [Written]
        }

        func run() throws {
            if vgg { return try exportVGG() }
            let stylizer = try model.loadStylizer()
            if stylizer.isAdaIN && style != nil { throw ValidationError("--style bakes a Ghiasi style into the transfer graph; an AdaIN model exports its two graphs (no --style)") }
            let weights = stylizer.weights
            let provenance = ONNXExporter.Provenance(pasticheVersion: PasticheVersion.string)
            var files: [(path: String, data: Data)] = []
            if stylizer.isAdaIN {
                let graphs = try ONNXExporter.adain(weights, provenance: provenance)
                files = Array(zip(outputs, [graphs.predictor, graphs.transfer]))
            } else if let style {
                if library.notCreatedYet { throw ValidationError("no style library at \(library.path); add styles with `pastiche embed add`") }
                let lib = try StyleLibrary(path: library.path, readOnly: true)
                let (_, embedding) = try lib.embedding(named: style, stylizer: stylizer)
                files = [(output, try ONNXExporter.transfer(weights, provenance: provenance, bakedStyle: (style, embedding)))]
            } else if let own = weights.ownStyle {
                files = [(output, try ONNXExporter.transfer(weights, provenance: provenance, bakedStyle: (own.name, own.embedding)))]
            } else {
                let graphs = [try ONNXExporter.predictor(weights, provenance: provenance),
                              try ONNXExporter.transfer(weights, provenance: provenance)]
                files = Array(zip(outputs, graphs))
            }
            for file in files {
                if file.path == "-" {
                    FileHandle.standardOutput.write(file.data)
                } else {
                    try AtomicFile.write(file.data, to: file.path)
                }
            }
            let written = files.map { Written(path: $0.path, bytes: $0.data.count) }
            if json {
                try Terminal.printJSON(Output(opset: ONNXExporter.opset, predictorID: weights.predictorID,
                                              predictorWidth: weights.predictorArchitecture.widthText, style: style ?? weights.ownStyle?.name,
                                              files: written))
            } else {
                for w in written where w.path != "-" {
                    Terminal.note("wrote \(w.path) (\(String(format: "%.1f", Double(w.bytes) / 1e6)) MB, opset \(ONNXExporter.opset))")
                }
            }
        }

        func exportVGG() throws {
            let path = lossNetwork ?? PasticheHome().vgg19Model
            if lossNetwork == nil && !FileManager.default.fileExists(atPath: path) {
                throw ModelError("no VGG-19 at \(path); run `pastiche model fetch` first, or pass --loss-network")
            }
            let network = try VGG19.load(path: path, pooling: VGGPooling(rawValue: pooling)!)
            let layers = network.architecture.layers
            let data = try ONNXExporter.vgg19(network, through: layers.last!, outputs: layers,
                                              provenance: ONNXExporter.Provenance(pasticheVersion: PasticheVersion.string))
            if output == "-" { FileHandle.standardOutput.write(data) } else { try AtomicFile.write(data, to: output) }
            if json {
                struct VGGOutput: Codable { let opset: Int; let graph: String; let files: [Written] }
                try Terminal.printJSON(VGGOutput(opset: ONNXExporter.opset, graph: "vgg19", files: [Written(path: output, bytes: data.count)]))
            } else if output != "-" {
                Terminal.note("wrote \(output) (\(String(format: "%.1f", Double(data.count) / 1e6)) MB, opset \(ONNXExporter.opset))")
            }
        }
    }
}
