import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// Writes a result image (format from the extension, `-` for stdout), ends any progress line,
/// and names the file on stderr.
func writeResult(_ image: RGBImage, to path: String, quality: Int = ImageIO.defaultQuality) throws {
    try ImageIO.write(image, to: path, quality: quality)
    Terminal.endProgress()
    if path != "-" { Terminal.note("wrote \(path)") }
}

/// Reads a content image, capping its long side when asked.
func readContent(_ path: String, maxSize: Int?) throws -> RGBImage {
    let image = try ImageIO.read(path: path)
    guard let maxSize else { return image }
    return image.resizedToFit(maxSide: maxSize)
}
