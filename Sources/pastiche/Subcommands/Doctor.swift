import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary
import PasticheModels
import PasticheTools

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report library versions, where models and the library live, whether the weights are verified, and check every page and record of the library.",
        discussion: "Exits non-zero when it finds a problem; each is printed as a `problem:` line.")
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions
    @Flag(help: "Print as JSON.") var json = false

    struct Report: Codable {
        var version: String
        var openblas: String
        var lmdb: String
        var libpng: String
        var libjpeg: String
        var home: String
        var modelsDirectory: String
        var onnxVerified: Bool
        var model: String
        var modelPresent: Bool
        var modelVerified: Bool
        var predictorID: String?
        /// arbitrary (any style) or per-style (`train transfer`), and a per-style model's style.
        var modelKind: String?
        var modelStyle: String?
        /// The kind in words (`ModelWeights.kindDescription`), for the text report.
        var modelDescription: String?
        /// VGG-19, the loss network of `optimize` (and of training with --loss-network vgg19).
        var vgg19: String
        var vgg19Present: Bool
        var vgg19Verified: Bool
        var library: String
        var libraryStyles: Int?
        var problems: [String]
    }

    func run() throws {
        let home = PasticheHome()
        let codecs = ImageIO.libraryVersions
        var report = Report(
            version: PasticheVersion.string, openblas: BLASInfo.description, lmdb: LMDBEnvironment.version,
            libpng: codecs["libpng"] ?? "?", libjpeg: codecs["libjpeg"] ?? "?", home: home.path,
            modelsDirectory: home.modelsDirectory, onnxVerified: ModelFetcher.onnxVerified(in: home),
            model: model.path, modelPresent: FileManager.default.fileExists(atPath: model.path),
            modelVerified: false, predictorID: nil, modelKind: nil, modelStyle: nil, modelDescription: nil, vgg19: home.vgg19Model,
            vgg19Present: FileManager.default.fileExists(atPath: home.vgg19Model),
            vgg19Verified: VGG19Weights.verified(home.vgg19Model), library: library.path, libraryStyles: nil, problems: [])
        if report.modelPresent {
            do {
                let w = try ModelWeights.load(path: model.path)
                report.predictorID = w.predictorID
                report.modelKind = w.kind.rawValue
                report.modelStyle = w.ownStyle?.name
                report.modelDescription = w.kindDescription
                report.modelVerified = model.model != nil || ModelFetcher.modelVerified(model.path)
                if !report.modelVerified { report.problems.append("weights do not come from the pinned ONNX files; run `pastiche model fetch`") }
            } catch {
                report.problems.append("\(error)")
            }
        } else {
            report.problems.append("no weights at \(model.path); run `pastiche model fetch`")
        }
        if !report.vgg19Present {
            report.problems.append("no VGG-19 at \(home.vgg19Model) (optimize needs it); run `pastiche model fetch`")
        } else if !report.vgg19Verified {
            report.problems.append("\(home.vgg19Model) is not the VGG-19 converted from the pinned file; run `pastiche model fetch`")
        }
        if FileManager.default.fileExists(atPath: library.path) {
            // Opening checks every page the library's file reaches; verify decodes every record.
            do {
                let store = try StyleStore(path: library.path, readOnly: true)
                report.libraryStyles = try store.count
                report.problems += try store.verify().map { "library: \($0)" }
            } catch {
                report.problems.append("\(error)")
            }
        }
        if json {
            try Terminal.printJSON(report)
        } else {
            printText(report)
        }
        if !report.problems.isEmpty {
            throw ValidationFailure("doctor found \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s"): \(report.problems[0])")
        }
    }

    private func printText(_ report: Report) {
        print("pastiche \(report.version)")
        print("OpenBLAS:  \(report.openblas)")
        print("LMDB:      \(report.lmdb)")
        print("libpng:    \(report.libpng)")
        print("libjpeg:   \(report.libjpeg)")
        print("home:      \(report.home)")
        print("ONNX:      \(report.onnxVerified ? "present, SHA-256 verified" : "missing or unverified") (\(report.modelsDirectory))")
        print("weights:   \(report.model): " + (report.modelPresent ? (report.modelVerified ? "present, verified" : "present, NOT verified") : "missing")
              + (report.modelDescription.map { ", \($0)" } ?? "")
              + (report.predictorID.map { ", predictor id \($0)" } ?? ""))
        print("VGG-19:    \(report.vgg19): " + (report.vgg19Present ? (report.vgg19Verified ? "present, verified (\(VGG19Weights.wheelRequirement), CC BY 4.0)" : "present, NOT verified") : "missing"))
        let exists = FileManager.default.fileExists(atPath: report.library)
        print("library:   \(report.library): " + (report.libraryStyles.map { "\($0) styles" } ?? (exists ? "unreadable (see the problems below)" : "not created yet")))
        for p in report.problems { print("problem:   \(p)") }
    }
}
