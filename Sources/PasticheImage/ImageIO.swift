import CPasticheCodecs
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing PNG and JPEG files. All failures throw `ImageError`.
public enum ImageIO {
    /// Default decompression-bomb limit, in pixels (PIL's `Image.MAX_IMAGE_PIXELS`).
    public static let defaultMaxPixels = 89_478_485

    /// Default JPEG quality.
    public static let defaultQuality = 92

    /// JPEG chroma subsampling: 4:4:4 at quality >= this, 4:2:0 below.
    public static let fullChromaQuality = 90

    // MARK: - Info

    /// Header information without decoding pixels. "-" reads stdin.
    public static func info(path: String) throws -> ImageInfo {
        let bytes = try readBytes(path: path)
        return try info(bytes, name: displayName(path))
    }

    /// Header information of an in-memory file without decoding pixels.
    public static func info(_ bytes: [UInt8], name: String) throws -> ImageInfo {
        let raw = try probe(bytes, name: name)
        return makeInfo(raw)
    }

    // MARK: - Decode

    /// Decodes a PNG or JPEG file to RGB (alpha composited onto white), applying the EXIF
    /// orientation unless `applyOrientation` is false. "-" reads stdin.
    /// Throws before decoding when width * height > maxPixels.
    public static func read(path: String, maxPixels: Int = ImageIO.defaultMaxPixels,
                            applyOrientation: Bool = true) throws -> RGBImage {
        let bytes = try readBytes(path: path)
        return try decode(bytes, name: displayName(path), maxPixels: maxPixels,
                          applyOrientation: applyOrientation)
    }

    /// Decodes an in-memory PNG or JPEG; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = ImageIO.defaultMaxPixels,
                              applyOrientation: Bool = true) throws -> RGBImage {
        let raw = try probe(bytes, name: name)
        let width = Int(raw.width), height = Int(raw.height)
        guard width > 0, height > 0 else {
            throw ImageError(file: name, kind: .corrupt, reason: "image has zero size (\(width)×\(height))")
        }
        let limit = max(1, maxPixels)
        let (pixelCount, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixelCount > limit {
            throw ImageError(file: name, kind: .tooLarge,
                             reason: "\(width)×\(height) = \(UInt64(width) * UInt64(height)) pixels exceeds the limit of \(limit) pixels")
        }
        var pixels = [Float](repeating: 0, count: 3 * pixelCount)
        var result = pc_result()
        let status = bytes.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                pc_decode(src.baseAddress, src.count, UInt64(limit), raw.width, raw.height,
                          dst.baseAddress, &result)
            }
        }
        if status != Int32(PC_OK) { throw error(status: status, result: &result, name: name, format: Int(raw.format)) }
        let image = RGBImage(width: width, height: height, pixels: pixels)
        return applyOrientation ? image.applyingOrientation(Int(raw.orientation)) : image
    }

    // MARK: - Encode

    /// Encodes to PNG (8-bit RGB) or JPEG (quality 1...100; 4:4:4 chroma at quality >= 90,
    /// 4:2:0 below). Samples are clamped to [0, 1] and rounded: round(x * 255).
    public static func encode(_ image: RGBImage, format: ImageFormat, quality: Int = ImageIO.defaultQuality) throws -> [UInt8] {
        try encode(image, format: format, quality: quality, name: "<\(format.rawValue)>")
    }

    static func encode(_ image: RGBImage, format: ImageFormat, quality: Int, name: String) throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageError(file: name, kind: .invalidArgument, reason: "JPEG quality \(quality) is outside 1...100")
        }
        guard image.width <= Int(UInt32.max), image.height <= Int(UInt32.max) else {
            throw ImageError(file: name, kind: .invalidArgument, reason: "image too large to encode")
        }
        let rgb = image.interleavedRGB8()
        var result = pc_result()
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = rgb.withUnsafeBufferPointer { src -> Int32 in
            switch format {
            case .png:
                return pc_png_encode(src.baseAddress, UInt32(image.width), UInt32(image.height), &out, &size, &result)
            case .jpeg:
                return pc_jpeg_encode(src.baseAddress, UInt32(image.width), UInt32(image.height), Int32(quality),
                                      quality >= fullChromaQuality ? 1 : 0, &out, &size, &result)
            }
        }
        defer { pc_free(out) }
        if status != Int32(PC_OK) {
            var e = error(status: status, result: &result, name: name,
                          format: format == .png ? Int(PC_FORMAT_PNG) : Int(PC_FORMAT_JPEG))
            if e.kind == .corrupt { e = ImageError(file: name, kind: .writeFailed, reason: "encoding failed (\(message(&result)))") }
            throw e
        }
        guard let out else { throw ImageError(file: name, kind: .writeFailed, reason: "encoder returned no data") }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Encodes and writes. The format comes from `format`, else from the extension; "-" writes
    /// to stdout (PNG unless `format` is given). Files are written atomically: a temporary file
    /// in the same directory, then rename.
    public static func write(_ image: RGBImage, to path: String, quality: Int = ImageIO.defaultQuality,
                             format: ImageFormat? = nil) throws {
        let name = displayName(path, writing: true)
        let chosen: ImageFormat
        if let format {
            chosen = format
        } else if path == "-" {
            chosen = .png
        } else if let byExtension = ImageFormat(pathExtension: path) {
            chosen = byExtension
        } else {
            throw ImageError(file: name, kind: .invalidArgument,
                             reason: "cannot tell the output format from the extension (use .png, .jpg or .jpeg)")
        }
        let bytes = try encode(image, format: chosen, quality: quality, name: name)
        if path == "-" {
            try writeAll(fd: 1, bytes: bytes, name: name)
        } else {
            try writeAtomically(bytes, to: path, name: name)
        }
    }

    // MARK: - Files

    /// The whole file ("-" = stdin). Throws "no such file" / "file is empty" / read errors.
    public static func readBytes(path: String) throws -> [UInt8] {
        let name = displayName(path)
        let bytes: [UInt8]
        if path == "-" {
            bytes = try readAll(fd: 0, name: name)
        } else {
            let fd = open(path, O_RDONLY)
            if fd < 0 {
                let code = errno
                if code == ENOENT || code == ENOTDIR {
                    throw ImageError(file: name, kind: .notFound, reason: "no such file")
                }
                throw ImageError(file: name, kind: .unreadable, reason: "cannot open (\(String(cString: strerror(code))))")
            }
            defer { close(fd) }
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                throw ImageError(file: name, kind: .unreadable, reason: "is a directory")
            }
            bytes = try readAll(fd: fd, name: name)
        }
        if bytes.isEmpty { throw ImageError(file: name, kind: .empty, reason: "file is empty") }
        return bytes
    }

    /// "-" is stdin when reading and stdout when writing.
    static func displayName(_ path: String, writing: Bool = false) -> String {
        path == "-" ? (writing ? "<stdout>" : "<stdin>") : path
    }

    private static func readAll(fd: Int32, name: String) throws -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { sysRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageError(file: name, kind: .unreadable, reason: "read failed (\(String(cString: strerror(errno))))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    private static func writeAll(fd: Int32, bytes: [UInt8], name: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = sysWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ImageError(file: name, kind: .writeFailed, reason: "write failed (\(String(cString: strerror(errno))))")
                }
                offset += n
            }
        }
    }

    private static func writeAtomically(_ bytes: [UInt8], to path: String, name: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let folder = directory.isEmpty ? "/" : directory
        // The temporary name carries this process's id, so the next write to the same name
        // can tell a killed run's leftover (its process gone) from a live writer's file.
        TemporaryFiles.removeAbandoned(in: folder, prefix: ".\(base).tmp-")
        var template = Array("\(folder)/.\(base).tmp-\(getpid())-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 {
            let code = errno
            let reason = code == ENOENT ? "no such directory" : "cannot create (\(String(cString: strerror(code))))"
            throw ImageError(file: name, kind: .writeFailed, reason: reason)
        }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var ok = false
        defer {
            if !ok { unlink(tempPath) }
        }
        do {
            // mkstemp creates 0600; give the file the usual permissions (0666 minus umask).
            let mask = umask(0)
            umask(mask)
            fchmod(fd, 0o666 & ~mask)
            try writeAll(fd: fd, bytes: bytes, name: name)
            if close(fd) != 0 {
                throw ImageError(file: name, kind: .writeFailed, reason: "write failed (\(String(cString: strerror(errno))))")
            }
        } catch {
            close(fd)
            throw error
        }
        if rename(tempPath, path) != 0 {
            throw ImageError(file: name, kind: .writeFailed, reason: "cannot rename into place (\(String(cString: strerror(errno))))")
        }
        ok = true
    }

    // MARK: - C bridge

    private static func probe(_ bytes: [UInt8], name: String) throws -> pc_info {
        if bytes.isEmpty { throw ImageError(file: name, kind: .empty, reason: "file is empty") }
        var info = pc_info()
        var result = pc_result()
        let status = bytes.withUnsafeBufferPointer { pc_probe($0.baseAddress, $0.count, &info, &result) }
        if status != Int32(PC_OK) {
            let format = Int(bytes.withUnsafeBufferPointer { pc_detect_format($0.baseAddress, $0.count) })
            throw error(status: status, result: &result, name: name, format: format)
        }
        return info
    }

    private static func message(_ result: inout pc_result) -> String {
        withUnsafeBytes(of: &result.message) { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[0..<end], as: UTF8.self)
        }
    }

    private static func error(status: Int32, result: inout pc_result, name: String, format: Int) -> ImageError {
        let text = message(&result)
        let formatName = format == Int(PC_FORMAT_PNG) ? "PNG" : format == Int(PC_FORMAT_JPEG) ? "JPEG" : "image"
        switch Int(status) {
        case Int(PC_ERR_UNKNOWN_FORMAT):
            return ImageError(file: name, kind: .unknownFormat, reason: "not a PNG or JPEG file")
        case Int(PC_ERR_TRUNCATED):
            return ImageError(file: name, kind: .truncated, reason: "truncated \(formatName) data")
        case Int(PC_ERR_TOO_LARGE):
            return ImageError(file: name, kind: .tooLarge, reason: text.isEmpty ? "image too large" : text)
        case Int(PC_ERR_UNSUPPORTED):
            return ImageError(file: name, kind: .unsupported, reason: text.isEmpty ? "unsupported \(formatName) file" : text)
        case Int(PC_ERR_NOMEM):
            return ImageError(file: name, kind: .outOfMemory, reason: "out of memory")
        case Int(PC_ERR_ARGUMENT):
            return ImageError(file: name, kind: .invalidArgument, reason: text.isEmpty ? "invalid argument" : text)
        default:
            return ImageError(file: name, kind: .corrupt, reason: text.isEmpty ? "corrupt \(formatName) data" : text)
        }
    }

    private static func makeInfo(_ raw: pc_info) -> ImageInfo {
        let format: ImageFormat = raw.format == Int32(PC_FORMAT_JPEG) ? .jpeg : .png
        var color: String
        switch Int(raw.color) {
        case Int(PC_COLOR_GREY): color = "grey"
        case Int(PC_COLOR_GREY_ALPHA): color = "grey+alpha"
        case Int(PC_COLOR_RGB): color = "RGB"
        case Int(PC_COLOR_RGBA): color = "RGBA"
        case Int(PC_COLOR_PALETTE): color = "palette"
        case Int(PC_COLOR_YCBCR): color = "YCbCr"
        case Int(PC_COLOR_CMYK): color = "CMYK"
        case Int(PC_COLOR_YCCK): color = "YCCK"
        default: color = "other"
        }
        if format == .png, raw.has_alpha != 0, raw.color == Int32(PC_COLOR_GREY) || raw.color == Int32(PC_COLOR_RGB)
            || raw.color == Int32(PC_COLOR_PALETTE) {
            color += "+tRNS"
        }
        if format == .jpeg, raw.adobe != 0, raw.color == Int32(PC_COLOR_CMYK) || raw.color == Int32(PC_COLOR_YCCK) {
            color += " (Adobe)"
        }
        return ImageInfo(format: format, width: Int(raw.width), height: Int(raw.height),
                         bitDepth: Int(raw.bit_depth), channels: Int(raw.channels), colorDescription: color,
                         interlaced: raw.interlaced != 0, progressive: raw.progressive != 0,
                         exifOrientation: Int(raw.orientation))
    }
}

#if canImport(Glibc)
private let sysRead = Glibc.read
private let sysWrite = Glibc.write
#elseif canImport(Darwin)
private let sysRead = Darwin.read
private let sysWrite = Darwin.write
#endif

extension ImageIO {
    /// Versions of the codec libraries actually linked, for `pastiche doctor`.
    public static var libraryVersions: [String: String] {
        let turbo = Int(pc_libjpeg_turbo_version())
        let jpeg = turbo > 0
            ? "libjpeg-turbo \(turbo / 1_000_000).\(turbo / 1000 % 1000).\(turbo % 1000) (API \(pc_libjpeg_api_version()))"
            : "libjpeg API \(pc_libjpeg_api_version())"
        return ["libpng": String(cString: pc_libpng_version()), "libjpeg": jpeg]
    }
}

/// Temporary outputs (`.NAME.tmp-PID-…`, `.NAME.partial-PID…`) that runs killed outright left
/// behind: SIGKILL and power loss give no chance to clean up, so the next run that writes the
/// same name removes them.
public enum TemporaryFiles {
    /// Removes `prefix`+PID… files in `folder` whose process is gone, and files of the older
    /// `prefix`+random form (no process id) untouched for more than ten minutes.
    public static func removeAbandoned(in folder: String, prefix: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let path = folder + "/" + name
            let pidText = rest.prefix { $0.isNumber }
            if let pid = Int32(pidText), !pidText.isEmpty, rest.dropFirst(pidText.count).first.map({ $0 == "-" || $0 == "." }) ?? true {
                guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
                unlink(path)
            } else if rest.count == 6, !rest.contains("-"),
                      let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                      Date().timeIntervalSince(modified) > 600 {
                unlink(path)
            }
        }
    }
}
