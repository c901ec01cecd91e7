import Foundation
import XCTest
@testable import PasticheVideo

/// What ffmpeg's stderr says about the output, as `pastiche video` reads it (issue 32): ffmpeg
/// 5.1 exits 0 after failing to write the trailer, so the words decide. The lines are ffmpeg
/// 5.1's own, from runs on a full tmpfs.
final class FFmpegMessageTests: XCTestCase {
    func testAFailedTrailerOnAFullDiskIsAFullDisk() {
        let stderr = Data("""
            [mp4 @ 0x55d0c1f0a2c0] Error writing trailer of /tmp/full/.out.mp4.partial-123.mp4: No space left on device
            frame=   75 fps=0.0 q=-1.0 Lsize=       4kB time=00:00:02.92 bitrate=  11.2kbits/s speed=8.57x
            """.utf8)
        XCTAssertEqual(FFmpeg.writeFailure(stderr), "no space left on device (ffmpeg could not finish writing the video)")
        XCTAssertEqual(FFmpeg.reason(stderr), "no space left on device (ffmpeg could not finish writing the video)")
    }

    func testOtherWriteErrorsAreNamed() {
        let stderr = Data("""
            [matroska @ 0x1] Error writing trailer of out.mkv: Input/output error
            frame=   10 fps=0.0 q=-1.0 Lsize=       1kB
            """.utf8)
        XCTAssertEqual(FFmpeg.writeFailure(stderr), "ffmpeg could not write the video: [matroska @ 0x1] Error writing trailer of out.mkv: Input/output error")
    }

    func testAnOrdinaryRunHasNoWriteFailure() {
        let stderr = Data("""
            [libx264 @ 0x55] using cpu capabilities: MMX2 SSE2Fast SSSE3 SSE4.2 AVX FMA3 BMI2 AVX2
            frame=   75 fps= 60 q=-1.0 Lsize=     180kB time=00:00:02.92 bitrate= 504.1kbits/s speed=2.36x
            [libx264 @ 0x55] kb/s:502.44
            """.utf8)
        XCTAssertNil(FFmpeg.writeFailure(stderr))
    }
}
