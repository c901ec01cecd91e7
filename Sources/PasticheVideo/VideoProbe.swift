import Foundation

/// What ffprobe says about an input: the first video stream's size (as ffmpeg decodes it,
/// i.e. after applying its rotation), frame rate, frame count and duration, and whether there
/// is audio to copy.
public struct VideoInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// The stream's frame rate as ffmpeg states it ("25/1", "30000/1001").
    public var frameRate: String
    public var frames: Int?
    public var duration: Double?
    public var rotation: Int
    public var hasAudio: Bool

    public var fps: Double {
        let p = frameRate.split(separator: "/").compactMap { Double($0) }
        return p.count == 2 && p[1] != 0 ? p[0] / p[1] : (p.first ?? 0)
    }

    public static func probe(_ path: String, ffmpeg: FFmpeg) throws -> VideoInfo {
        guard FileManager.default.fileExists(atPath: path) else { throw VideoError("\(path): no such file") }
        let data = try ffmpeg.run(ffmpeg.ffprobe, ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", path],
                                  what: path)
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let streams = root["streams"] as? [[String: Any]] else {
            throw VideoError("\(path): ffprobe gave no stream list")
        }
        guard let video = streams.first(where: { $0["codec_type"] as? String == "video" }),
              var width = video["width"] as? Int, var height = video["height"] as? Int, width > 0, height > 0 else {
            throw VideoError("\(path): no video stream")
        }
        var rotation = 0
        if let side = video["side_data_list"] as? [[String: Any]],
           let r = side.compactMap({ $0["rotation"] as? Int ?? ($0["rotation"] as? Double).map { Int($0) } }).first {
            rotation = r
        } else if let tags = video["tags"] as? [String: Any], let r = (tags["rotate"] as? String).flatMap(Int.init) {
            rotation = r
        }
        rotation = ((rotation % 360) + 360) % 360
        if rotation == 90 || rotation == 270 { swap(&width, &height) }
        var rate = video["avg_frame_rate"] as? String ?? "0/0"
        if rate == "0/0" || rate.hasPrefix("0/") { rate = video["r_frame_rate"] as? String ?? "25/1" }
        let format = root["format"] as? [String: Any]
        let duration = (video["duration"] as? String).flatMap(Double.init)
            ?? (format?["duration"] as? String).flatMap(Double.init)
        let frames = (video["nb_frames"] as? String).flatMap(Int.init)
        return VideoInfo(width: width, height: height, frameRate: rate, frames: frames, duration: duration,
                         rotation: rotation, hasAudio: streams.contains { $0["codec_type"] as? String == "audio" })
    }
}
