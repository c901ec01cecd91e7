import ArgumentParser
import Foundation
import PasticheImage

extension ImageCommand {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print format, size, bit depth, colour type and EXIF orientation (no pixel decoding).",
            discussion: "A file that cannot be read is reported on stderr and makes the exit status non-zero."
        )

        @Argument(help: "Image files (PNG or JPEG); - reads stdin.") var files: [String]
        @Flag(help: "Print a JSON array of objects instead of text.") var json = false

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one image file") }
            if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
        }

        func run() throws {
            var entries: [Entry] = []
            var failures: [Error] = []
            for file in files {
                do {
                    let info = try ImageIO.info(path: file)
                    entries.append(Entry(file: file, info: info))
                    if !json { print(Self.describe(file: file, info)) }
                } catch {
                    failures.append(error)
                }
            }
            if json {
                print(String(decoding: try Terminal.jsonEncoder(pretty: true).encode(entries), as: UTF8.self))
            }
            // Every bad file gets its one line; the last is thrown so the root prints it and exits 1.
            for failure in failures.dropLast() {
                FileHandle.standardError.write(Data("pastiche: error: \(failure)\n".utf8))
            }
            if let last = failures.last { throw last }
        }

        static func describe(file: String, _ info: ImageInfo) -> String {
            var parts = ["\(info.format.displayName) \(info.width)×\(info.height)",
                         "\(info.bitDepth)-bit \(info.colorDescription)",
                         "\(info.channels) channel\(info.channels == 1 ? "" : "s")"]
            if info.interlaced { parts.append("interlaced") }
            if info.progressive { parts.append("progressive") }
            var orientation = "EXIF orientation \(info.exifOrientation)"
            if info.exifOrientation >= 5 {
                orientation += " (displayed \(info.orientedSize.width)×\(info.orientedSize.height))"
            }
            parts.append(orientation)
            return "\(file == "-" ? "<stdin>" : file): " + parts.joined(separator: ", ")
        }

        struct Entry: Encodable {
            let file: String
            let info: ImageInfo

            enum CodingKeys: String, CodingKey {
                case file, format, width, height, bitDepth, channels, colorDescription, interlaced, progressive,
                     exifOrientation
            }

            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(file, forKey: .file)
                try c.encode(info.format, forKey: .format)
                try c.encode(info.width, forKey: .width)
                try c.encode(info.height, forKey: .height)
                try c.encode(info.bitDepth, forKey: .bitDepth)
                try c.encode(info.channels, forKey: .channels)
                try c.encode(info.colorDescription, forKey: .colorDescription)
                try c.encode(info.interlaced, forKey: .interlaced)
                try c.encode(info.progressive, forKey: .progressive)
                try c.encode(info.exifOrientation, forKey: .exifOrientation)
            }
        }
    }
}
