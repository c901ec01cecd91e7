import CPasticheCodecs

public enum ImageFormat: String, Codable, Sendable, CaseIterable {
    case png
    case jpeg

    /// From a path's extension: .png, .jpg, .jpeg (case-insensitive); nil otherwise.
    public init?(pathExtension path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        default: return nil
        }
    }

    /// From the magic bytes (PNG signature, JPEG SOI + marker); nil if neither.
    public init?(magic bytes: [UInt8]) {
        let format = bytes.withUnsafeBufferPointer { pc_detect_format($0.baseAddress, $0.count) }
        switch Int(format) {
        case Int(PC_FORMAT_PNG): self = .png
        case Int(PC_FORMAT_JPEG): self = .jpeg
        default: return nil
        }
    }

    public var fileExtension: String { self == .png ? "png" : "jpg" }
    public var displayName: String { self == .png ? "PNG" : "JPEG" }
}

/// What the header says, read without decoding pixels.
public struct ImageInfo: Codable, Equatable, Sendable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// Bits per sample as stored (PNG 1, 2, 4, 8, 16; JPEG 8 or 12).
    public var bitDepth: Int
    /// Samples per pixel as stored (palette PNG: 1).
    public var channels: Int
    /// "grey", "grey+alpha", "RGB", "RGBA", "palette", "palette+tRNS", "grey+tRNS", "RGB+tRNS",
    /// "YCbCr", "CMYK", "YCCK" (JPEG CMYK/YCCK with an Adobe marker get " (Adobe)").
    public var colorDescription: String
    /// PNG Adam7 interlacing.
    public var interlaced: Bool
    /// JPEG progressive.
    public var progressive: Bool
    /// EXIF orientation 1...8 (1 when absent).
    public var exifOrientation: Int

    public var pixelCount: Int { width * height }

    public init(format: ImageFormat, width: Int, height: Int, bitDepth: Int, channels: Int,
                colorDescription: String, interlaced: Bool, progressive: Bool, exifOrientation: Int) {
        self.format = format
        self.width = width
        self.height = height
        self.bitDepth = bitDepth
        self.channels = channels
        self.colorDescription = colorDescription
        self.interlaced = interlaced
        self.progressive = progressive
        self.exifOrientation = exifOrientation
    }

    /// Width and height after the EXIF orientation is applied.
    public var orientedSize: (width: Int, height: Int) {
        exifOrientation >= 5 ? (height, width) : (width, height)
    }
}
