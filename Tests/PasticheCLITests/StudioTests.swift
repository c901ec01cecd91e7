import Foundation
import XCTest
import PasticheImage
#if canImport(Glibc)
import Glibc
#endif

/// `pastiche serve` over a real socket: the API the page uses, its agreement with the CLI, its
/// safety limits, and a sweep of hostile requests. (The page itself is driven in Chromium by
/// Tests/studio/browser_test.py.)
final class StudioTests: CLITestCase {
    private func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// A library with two styles, the studio on it, and a small photo uploaded.
    private func studioWithStyles(_ extra: [String] = []) throws -> (StudioProcess, photo: String, photoPath: String) {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, hokusai])
        let studio = try StudioProcess(["--library", library] + extra, scratch: scratch)
        let r = try studio.request("POST", "/api/photos", body: try bytes(photo))
        XCTAssertEqual(r.status, 201, r.text)
        return (studio, r.object["photo"] as? String ?? "", photo)
    }

    func testLibraryEndpointsAgreeWithTheCLIBothWays() throws {
        let (studio, _, _) = try studioWithStyles()
        defer { XCTAssertEqual(try? studio.stop().status, 0) }

        let list = try studio.get("/api/styles")
        XCTAssertEqual(list.status, 200)
        XCTAssertEqual(list.headers["content-type"], "application/json")
        let styles = list.object["styles"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(styles.compactMap { $0["name"] as? String }), ["vangogh", "hokusai"])
        for s in styles {
            XCTAssertEqual(s["blend"] as? Bool, false)
            XCTAssertEqual(s["width"] as? Int, 300)
            let thumb = try studio.get(s["thumbnail"] as? String ?? "-")
            XCTAssertEqual(thumb.status, 200)
            XCTAssertEqual(thumb.headers["content-type"], "image/jpeg")
            XCTAssertEqual(Array(thumb.body.prefix(2)), [0xFF, 0xD8], "a thumbnail is a JPEG")
        }

        // The record carries the same 100 numbers as `embed show --vector`.
        let detail = try studio.get("/api/styles/vangogh")
        let embedding = (detail.object["embedding"] as? [NSNumber])?.map(\.floatValue) ?? []
        XCTAssertEqual(embedding.count, 100)
        XCTAssertEqual(embedding, try vector("vangogh"))
        // One JSON dialect (docs/json.md): the studio's record has the CLI's keys and dates.
        let cli = try json(try ok(["embed", "show", "vangogh", "--json", "--vector"])) as? [String: Any] ?? [:]
        XCTAssertEqual(detail.object["model_id"] as? String, cli["model_id"] as? String)
        XCTAssertEqual(detail.object["added"] as? String, cli["added"] as? String, "added: the same ISO 8601 date")
        for key in detail.object.keys {
            XCTAssertNotNil(key.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression), "studio key \(key)")
        }

        let nearest = try studio.get("/api/styles/vangogh/nearest?k=5").object["nearest"] as? [[String: Any]] ?? []
        XCTAssertEqual(nearest.compactMap { $0["name"] as? String }, ["hokusai"], "the style itself is not its own neighbour")
        let map = try studio.get("/api/map").object["points"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(map.compactMap { $0["name"] as? String }), ["vangogh", "hokusai"])
        let xs = map.compactMap { ($0["x"] as? NSNumber)?.doubleValue }
        XCTAssertEqual(xs.count, 2)
        XCTAssertGreaterThan(abs(xs[0] - xs[1]), 1e-3, "two different styles sit apart on the map")

        // Page → CLI: an upload is a library style.
        let kandinsky = try smallCopy(of: "styles/s04_kandinsky_composition_viii.png", as: "kandinsky.png", maxSide: 200)
        let added = try studio.request("POST", "/api/styles?name=kandinsky&tag=abstract&tag=colour", body: try bytes(kandinsky))
        XCTAssertEqual(added.status, 201, added.text)
        XCTAssertEqual(added.object["reused"] as? Bool, false)
        XCTAssertEqual(try names().sorted(), ["hokusai", "kandinsky", "vangogh"])
        XCTAssertEqual(try names(tag: "abstract"), ["kandinsky"])
        XCTAssertEqual(try vector("kandinsky").count, 100)
        // The same pixels again are reused, with 200.
        let again = try studio.request("POST", "/api/styles", body: try bytes(kandinsky))
        XCTAssertEqual(again.status, 200, again.text)
        XCTAssertEqual(again.object["reused"] as? Bool, true)
        XCTAssertEqual((again.object["style"] as? [String: Any])?["name"] as? String, "kandinsky")

        // CLI → page: an add from the CLI while the server runs shows on the next request.
        let klimt = try smallCopy(of: "styles/s02_klimt_the_kiss.png", as: "klimt.png", maxSide: 200)
        try ok(["embed", "add", klimt])
        let names2 = (try studio.get("/api/styles").object["styles"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(Set(names2), ["hokusai", "kandinsky", "vangogh", "klimt"])

        // Rename and retag, then delete: each visible to the CLI.
        let patched = try studio.request("PATCH", "/api/styles/kandinsky", json: ["name": "composition8", "tags": ["bauhaus"]])
        XCTAssertEqual(patched.status, 200, patched.text)
        XCTAssertEqual(try show("composition8")["tags"] as? [String], ["bauhaus"])
        XCTAssertEqual(try studio.request("PATCH", "/api/styles/composition8", json: ["name": "vangogh", "tags": ["x"]]).status, 409,
                       "renaming onto a taken name is refused")
        XCTAssertEqual(try show("composition8")["tags"] as? [String], ["bauhaus"], "and the refused request changed nothing")
        XCTAssertEqual(try studio.request("DELETE", "/api/styles/composition8").status, 200)
        XCTAssertEqual(try names().sorted(), ["hokusai", "klimt", "vangogh"])
        XCTAssertEqual(try studio.get("/api/styles/composition8").status, 404)
    }

    /// The studio's renders are the CLI's pixels: same photo, same styles, same numbers.
    func testRendersAreExactlyTheCLIs() throws {
        let (studio, photo, photoPath) = try studioWithStyles()
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        func render(_ body: [String: Any]) throws -> RGBImage {
            var b = body
            b["photo"] = photo
            let r = try studio.request("POST", "/api/render", json: b)
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertNotNil(r.headers["server-timing"], "the server reports its render time")
            return try ImageIO.decode(r.body, name: "render")
        }
        let one = try render(["styles": [["name": "vangogh", "weight": 1]], "max_size": 64])
        try ok(["stylize", "--style", "vangogh", "--max-size", "64", photoPath, "-o", scratch + "/cli1.png"])
        let cli1 = try decode(scratch + "/cli1.png")
        XCTAssertEqual(one.width, 64)
        XCTAssertEqual(one.pixels, cli1.pixels, "render = stylize --style --max-size, pixel for pixel")

        let mixed = try render(["styles": [["name": "vangogh", "weight": 0.6], ["name": "hokusai", "weight": 1.4]],
                                "strength": 0.7, "preserve_color": true, "max_size": 80])
        try ok(["blend", "--styles", "vangogh,hokusai", "--weights", "0.3,0.7", "--strength", "0.7", "--preserve-color",
                "--max-size", "80", photoPath, "-o", scratch + "/cli2.png"])
        XCTAssertEqual(mixed.pixels, try decode(scratch + "/cli2.png").pixels,
                       "weights are normalised as blend does; strength and colour preservation as the CLI")
        XCTAssertNotEqual(mixed.pixels, one.pixels)

        let full = try render(["styles": [["name": "hokusai", "weight": 1]]])
        XCTAssertEqual([full.width, full.height], [96, 64], "no max_size: the photo's own size")

        let jpeg = try studio.request("POST", "/api/render", json: ["photo": photo, "styles": [["name": "hokusai", "weight": 1]],
                                                                   "format": "jpeg", "max_size": 32])
        XCTAssertEqual(jpeg.headers["content-type"], "image/jpeg")
        XCTAssertEqual(Array(jpeg.body.prefix(2)), [0xFF, 0xD8])

        let stats = try studio.get("/api/stats").object["renders"] as? [String: Any] ?? [:]
        XCTAssertEqual(stats["count"] as? Int, 4)
        XCTAssertNotNil(stats["p50_ms"] as? Double)
    }

    /// Uploaded masks (issue 19): a render with one mask per style is `stylize --styles
    /// --masks --feather` pixel for pixel, one style through one mask is `--mask
    /// --invert-mask`; bad masks are one-line 4xx.
    func testMaskedRendersAreTheCLIs() throws {
        let (studio, photo, photoPath) = try studioWithStyles()
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        var left = RGBImage(width: 50, height: 30)   // another size than the photo: resized to it
        for y in 0..<30 { for x in 0..<25 { left.setPixel(x: x, y: y, (1, 1, 1)) } }
        var right = left
        for i in right.pixels.indices { right.pixels[i] = 1 - right.pixels[i] }
        let leftPath = scratch + "/left.png", rightPath = scratch + "/right.png"
        try ImageIO.write(left, to: leftPath)
        try ImageIO.write(right, to: rightPath)
        func upload(_ path: String) throws -> String {
            let r = try studio.request("POST", "/api/photos", body: try bytes(path))
            XCTAssertEqual(r.status, 201, r.text)
            return r.object["photo"] as? String ?? ""
        }
        let l = try upload(leftPath), r = try upload(rightPath)
        func render(_ body: [String: Any]) throws -> HTTPReply {
            var b = body
            b["photo"] = photo
            return try studio.request("POST", "/api/render", json: b)
        }
        let two = try render(["styles": [["name": "vangogh", "weight": 0.1], ["name": "hokusai", "weight": 0.9]],
                              "masks": [l, r], "feather": 6])
        XCTAssertEqual(two.status, 200, two.text)
        try ok(["stylize", "--styles", "vangogh,hokusai", "--masks", "\(leftPath),\(rightPath)", "--feather", "6", photoPath,
                "-o", scratch + "/cli-masks.png"])
        XCTAssertEqual(try ImageIO.decode(two.body, name: "render").pixels, try decode(scratch + "/cli-masks.png").pixels)
        let one = try render(["styles": [["name": "hokusai", "weight": 1]], "masks": [l], "invert_mask": true, "strength": 0.8])
        XCTAssertEqual(one.status, 200, one.text)
        try ok(["stylize", "--style", "hokusai", "--mask", leftPath, "--invert-mask", "--strength", "0.8", photoPath,
                "-o", scratch + "/cli-mask.png"])
        XCTAssertEqual(try ImageIO.decode(one.body, name: "render").pixels, try decode(scratch + "/cli-mask.png").pixels)

        var black = RGBImage(width: 8, height: 8)
        for i in black.pixels.indices { black.pixels[i] = 0 }
        try ImageIO.write(black, to: scratch + "/black.png")
        let b = try upload(scratch + "/black.png")
        let styles = [["name": "vangogh", "weight": 1], ["name": "hokusai", "weight": 1]]
        for (body, status) in [(["styles": styles, "masks": [l]], 400),
                               (["styles": styles, "masks": [l, "0123456789abcdef"]], 404),
                               (["styles": styles, "masks": [b, b]], 400),
                               (["styles": styles, "masks": [l, r], "feather": -1], 400),
                               (["styles": styles, "masks": [l, r], "invert_mask": true], 400),
                               (["styles": styles, "masks": "left"], 400)] as [([String: Any], Int)] {
            let reply = try render(body)
            XCTAssertEqual(reply.status, status, "\(body): \(reply.text)")
            XCTAssertNotNil(reply.object["error"] as? String, reply.text)
            XCTAssertFalse(reply.text.contains("\n"), reply.text)
        }
        XCTAssertEqual(try studio.get("/api/styles").status, 200, "still serving")
    }

    func testFullSizeJobsReportProgressAndBlendsAreSaved() throws {
        let (studio, photo, _) = try studioWithStyles()
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        let started = try studio.request("POST", "/api/jobs", json: ["photo": photo, "styles": [["name": "vangogh", "weight": 1]]])
        XCTAssertEqual(started.status, 202, started.text)
        let id = started.object["job"] as? String ?? ""
        var seen: [Double] = []
        var state = ""
        let deadline = Date().addingTimeInterval(60)
        repeat {
            let s = try studio.get("/api/jobs/\(id)").object
            state = s["state"] as? String ?? ""
            seen.append((s["progress"] as? NSNumber)?.doubleValue ?? -1)
            if state == "done" || state == "failed" { break }
            usleep(5_000)
        } while Date() < deadline
        XCTAssertEqual(state, "done")
        XCTAssertEqual(seen, seen.sorted(), "progress never goes back")
        XCTAssertEqual(seen.last, 1)
        let result = try studio.get("/api/jobs/\(id)/result")
        XCTAssertEqual(result.status, 200)
        XCTAssertTrue(result.headers["content-disposition"]?.hasPrefix("attachment") ?? false)
        let image = try ImageIO.decode(result.body, name: "job")
        XCTAssertEqual([image.width, image.height], [96, 64])

        let saved = try studio.request("POST", "/api/blends", json: ["name": "mix", "photo": photo,
                                                                    "styles": [["name": "vangogh", "weight": 1], ["name": "hokusai", "weight": 3]]])
        XCTAssertEqual(saved.status, 201, saved.text)
        XCTAssertEqual(saved.object["blend"] as? Bool, true)
        XCTAssertNotNil(saved.object["thumbnail"] as? String, "a blend saved with a photo has a thumbnail painted with it")
        let recipe = try show("mix")["recipe"] as? [[String: Any]] ?? []
        XCTAssertEqual(recipe.compactMap { $0["name"] as? String }, ["vangogh", "hokusai"])
        XCTAssertEqual(recipe.compactMap { ($0["weight"] as? NSNumber)?.doubleValue }, [0.25, 0.75])
        let v = try vector("vangogh"), h = try vector("hokusai"), m = try vector("mix")
        for k in 0..<100 { XCTAssertEqual(m[k], 0.25 * v[k] + 0.75 * h[k], accuracy: 1e-6) }
        XCTAssertEqual(try studio.request("POST", "/api/blends", json: ["name": "mix", "styles": [["name": "vangogh", "weight": 1]]]).status,
                       409, "a taken name is refused, the first blend kept")
    }

    /// 76 malformed or hostile requests: every one answered 4xx with a one-line JSON error
    /// (or, for bytes that are not HTTP, NIO's own 400), the server up throughout, the library
    /// byte-for-byte what it was.
    func testBadInputSweepLeavesServerUpAndLibraryUnchanged() throws {
        let (studio, photo, _) = try studioWithStyles(["--max-body", "1"])
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        let before = try export()
        let notImage = Array("this is not an image".utf8)
        let truncatedPNG = Array(try bytes(scratch + "/vangogh.png").prefix(200))
        let big = [UInt8](repeating: 7, count: (1 << 20) + 10)
        func render(_ extra: [String: Any]) -> [String: Any] {
            var r: [String: Any] = ["photo": photo, "styles": [["name": "vangogh", "weight": 1]], "max_size": 32]
            for (k, v) in extra { r[k] = v }
            return r
        }
        let jsonCases: [(String, String, Any)] = [
            ("POST", "/api/render", render(["styles": []])),
            ("POST", "/api/render", render(["styles": [["name": "vangogh", "weight": -1]]])),
            ("POST", "/api/render", render(["styles": [["name": "vangogh", "weight": 0], ["name": "hokusai", "weight": 0]]])),
            ("POST", "/api/render", render(["styles": [["name": "vangogh", "weight": "NaN"]]])),
            ("POST", "/api/render", render(["styles": [["name": "vangogh"]]])),
            ("POST", "/api/render", render(["styles": [["name": "nosuchstyle", "weight": 1]]])),
            ("POST", "/api/render", render(["styles": [["name": "../../etc/passwd", "weight": 1]]])),
            ("POST", "/api/render", render(["styles": "vangogh"])),
            ("POST", "/api/render", render(["photo": "0123456789abcdef0123456789abcdef"])),
            ("POST", "/api/render", render(["photo": 7])),
            ("POST", "/api/render", render(["strength": 2])),
            ("POST", "/api/render", render(["strength": -0.5])),
            ("POST", "/api/render", render(["max_size": 0])),
            ("POST", "/api/render", render(["max_size": 100_000_000])),
            ("POST", "/api/render", render(["max_size": 3.5])),
            ("POST", "/api/render", render(["format": "gif"])),
            ("POST", "/api/render", render(["quality": 0])),
            ("POST", "/api/render", render(["preserve_color": "yes"])),
            ("POST", "/api/render", ["styles": [["name": "vangogh", "weight": 1]]]),
            ("POST", "/api/render", [1, 2, 3]),
            ("POST", "/api/render", render(["styles": Array(repeating: ["name": "vangogh", "weight": 1], count: 65)])),
            ("POST", "/api/jobs", render(["styles": [["name": "vangogh", "weight": -3]]])),
            ("POST", "/api/jobs", render(["photo": "evicted"])),
            ("POST", "/api/blends", ["name": "bad name!", "styles": [["name": "vangogh", "weight": 1]]]),
            ("POST", "/api/blends", ["name": "vangogh", "styles": [["name": "hokusai", "weight": 1]]]),
            ("POST", "/api/blends", ["name": "ok-name", "styles": []]),
            ("POST", "/api/blends", ["name": "ok-name", "styles": [["name": "ghost", "weight": 1]]]),
            ("POST", "/api/blends", ["name": "ok-name", "styles": [["name": "vangogh", "weight": 1]], "tags": ["no spaces"]]),
            ("POST", "/api/blends", ["styles": [["name": "vangogh", "weight": 1]]]),
            ("PATCH", "/api/styles/vangogh", ["name": ""]),
            ("PATCH", "/api/styles/vangogh", ["name": String(repeating: "x", count: 200)]),
            ("PATCH", "/api/styles/vangogh", ["name": "hokusai"]),
            ("PATCH", "/api/styles/vangogh", ["tags": ["a b"]]),
            ("PATCH", "/api/styles/vangogh", ["tags": "notalist"]),
            ("PATCH", "/api/styles/ghost", ["name": "x"]),
        ]
        var replies: [(String, HTTPReply?)] = []
        for (method, path, body) in jsonCases {
            replies.append(("\(method) \(path) \(body)", try studio.request(method, path, json: body)))
        }
        let rawCases: [(String, String, [UInt8]?, [String: String])] = [
            ("POST", "/api/render", Array("{not json".utf8), [:]),
            ("POST", "/api/render", [], [:]),
            ("POST", "/api/render", Array("null".utf8), [:]),
            ("POST", "/api/render", [0xFF, 0xFE, 0x00], [:]),
            ("POST", "/api/render", [UInt8](repeating: UInt8(ascii: "["), count: 300_000), [:]),  // nesting past any stack
            ("POST", "/api/blends", Array(String(repeating: "{\"a\":", count: 100_000).utf8), [:]),
            ("POST", "/api/blends", Array("{\"name\":".utf8), [:]),
            ("PATCH", "/api/styles/vangogh", [], [:]),
            ("POST", "/api/photos", notImage, [:]),
            ("POST", "/api/photos", truncatedPNG, [:]),
            ("POST", "/api/photos", [], [:]),
            ("POST", "/api/photos", big, [:]),
            ("POST", "/api/styles", notImage, [:]),
            ("POST", "/api/styles", truncatedPNG, [:]),
            ("POST", "/api/styles?name=has%20space", try bytes(scratch + "/vangogh.png"), [:]),
            ("POST", "/api/styles?tag=bad%2Ftag", try bytes(scratch + "/vangogh.png"), [:]),
            ("POST", "/api/styles", big, [:]),
            ("GET", "/api/styles/ghost", nil, [:]),
            ("GET", "/api/styles/ghost/thumbnail", nil, [:]),
            ("GET", "/api/styles/vangogh/nearest?k=abc", nil, [:]),
            ("GET", "/api/styles/vangogh/nearest?k=0", nil, [:]),
            ("GET", "/api/styles/vangogh/nearest?k=-4", nil, [:]),
            ("DELETE", "/api/styles/ghost", nil, [:]),
            ("DELETE", "/api/styles/bad%20name", nil, [:]),
            ("GET", "/api/jobs/nojob", nil, [:]),
            ("GET", "/api/jobs/nojob/result", nil, [:]),
            ("GET", "/../../etc/passwd", nil, [:]),
            ("GET", "/%2e%2e/%2e%2e/etc/passwd", nil, [:]),
            ("GET", "/studio.js/../../Package.swift", nil, [:]),
            ("GET", "/api/nothing", nil, [:]),
            ("PUT", "/api/styles/vangogh", Array("{}".utf8), [:]),
            ("DELETE", "/api/styles", nil, [:]),
            ("POST", "/api/styles/vangogh", try bytes(scratch + "/vangogh.png"), ["Origin": "http://evil.example"]),
            ("DELETE", "/api/styles/vangogh", nil, ["Origin": "http://evil.example"]),
            ("PATCH", "/api/styles/vangogh", Array("{\"name\":\"x\"}".utf8), ["Origin": "null"]),
            ("POST", "/api/photos", Array(repeating: 0, count: 10), ["Content-Length": "99999999999"]),
        ]
        for (method, path, body, headers) in rawCases {
            var h = headers
            var requestBytes: [UInt8]
            if let declared = h.removeValue(forKey: "Content-Length") {
                var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(studio.port)\r\nConnection: close\r\nContent-Length: \(declared)\r\n\r\n"
                for (k, v) in h { head += "\(k): \(v)\r\n" }
                requestBytes = Array(head.utf8) + (body ?? [])
                replies.append(("\(method) \(path) declared \(declared)", try RawHTTP.send(port: studio.port, requestBytes, timeout: 10)))
            } else {
                replies.append(("\(method) \(path)", try RawHTTP.request(port: studio.port, method, path, headers: h, body: body)))
            }
        }
        // Not HTTP at all, a rebinding Host, and no Host.
        let protocolCases: [(String, [UInt8])] = [
            ("garbage", Array("GARBAGE\r\n\r\n".utf8)),
            ("binary", [UInt8](repeating: 0xFF, count: 300)),
            ("rebinding host", Array("GET /api/styles HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n".utf8)),
            ("no host", Array("GET /api/styles HTTP/1.1\r\nConnection: close\r\n\r\n".utf8)),
            ("bad chunk", Array("POST /api/photos HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n".utf8)),
        ]
        for (name, raw) in protocolCases { replies.append((name, try RawHTTP.send(port: studio.port, raw, timeout: 10))) }

        XCTAssertGreaterThanOrEqual(replies.count, 50)
        for (what, reply) in replies {
            guard let reply else { XCTFail("\(what): no answer"); continue }
            XCTAssertTrue((400..<500).contains(reply.status), "\(what) → \(reply.status) \(reply.text)")
            // Every answer, raw bytes that are not HTTP included, is the one-line JSON error.
            let line = reply.error ?? ""
            XCTAssertFalse(line.isEmpty, "\(what): the error is JSON {\"error\": …}, got \(reply.text)")
            XCTAssertFalse(line.contains("\n"), "\(what): one line")
            XCTAssertTrue(studio.isRunning, "the server died at \(what)")
        }
        let statuses = replies.compactMap { $0.1?.status }
        XCTAssertTrue(statuses.contains(413) && statuses.contains(404) && statuses.contains(403) && statuses.contains(409))
        XCTAssertEqual(try studio.get("/api/styles").status, 200, "still serving")
        XCTAssertEqual(try export(), before, "the library is unchanged")
    }

    /// The studio and CLI processes writing the same library at once: every style lands once,
    /// and the library checks clean afterwards.
    func testConcurrentCLIWritersAndUploadsAllLand() throws {
        let studio = try StudioProcess(["--library", library], scratch: scratch)
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        let cliImages = try noiseImages(count: 16, in: scratch + "/cli", prefix: "cli", seed: 11)
        let webImages = try noiseImages(count: 16, in: scratch + "/web", prefix: "web", seed: 12)
        let writers = try [0, 1].map { half in
            try CLI.start(["embed", "add"] + cliImages.enumerated().filter { $0.offset % 2 == half }.map(\.element)
                          + ["--library", library], scratch: scratch)
        }
        for path in webImages {
            let r = try studio.request("POST", "/api/styles?filename=\(URL(fileURLWithPath: path).lastPathComponent)",
                                       body: try bytes(path))
            XCTAssertEqual(r.status, 201, r.text)
        }
        for w in writers { XCTAssertEqual(try w.wait().status, 0) }
        let expected = Set((cliImages + webImages).map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent })
        XCTAssertEqual(Set(try names()), expected)
        let listed = (try studio.get("/api/styles").object["styles"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(Set(listed), expected)
        try ok(["doctor"])
    }

    func testOffLoopbackHostsNeedTheToken() throws {
        try ok(["embed", "add", try smallCopy(of: "styles/s01_vangogh_starry_night.jpg", as: "v.png", maxSide: 100)])
        let studio = try StudioProcess(["--library", library, "--host", "0.0.0.0"], scratch: scratch)
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        guard let token = studio.url.components(separatedBy: "?token=").last, studio.url.contains("?token="), token.count >= 32 else {
            return XCTFail("the URL carries a token: \(studio.url)")
        }
        XCTAssertEqual(try studio.get("/api/styles").status, 401)
        XCTAssertEqual(try studio.get("/api/styles?token=wrong\(token.prefix(5))").status, 401)
        XCTAssertEqual(try studio.get("/").status, 401)
        let page = try studio.get("/?token=\(token)")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers["set-cookie"]?.contains("pastiche_token=\(token)") ?? false, "the page gets the token as a cookie")
        XCTAssertTrue(page.text.contains("Pastiche Studio"))
        XCTAssertEqual(try studio.request("GET", "/api/styles", headers: ["Authorization": "Bearer \(token)"]).status, 200)
        XCTAssertEqual(try studio.request("GET", "/api/styles", headers: ["Cookie": "pastiche_token=\(token)"]).status, 200)
    }

    /// Renders share one queue; past --max-queue the studio answers 503 at once, never falls over.
    func testBusyQueueAnswers503AndRecovers() throws {
        let (studio, _, _) = try studioWithStyles(["--max-queue", "1"])
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        let bigPhoto = try smallCopy(of: "docs/images/summer_palace.jpg", as: "palace.png", maxSide: 640)
        let photo = try studio.request("POST", "/api/photos", body: try bytes(bigPhoto)).object["photo"] as? String ?? ""
        let body: [String: Any] = ["photo": photo, "styles": [["name": "vangogh", "weight": 1]]]
        let lock = NSLock()
        var statuses: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            let s = (try? studio.request("POST", "/api/render", json: body))?.status ?? -1
            lock.withLock { statuses.append(s) }
        }
        XCTAssertTrue(statuses.contains(200), "\(statuses)")
        XCTAssertTrue(statuses.contains(503), "a queue of 1 refuses the overflow: \(statuses)")
        XCTAssertEqual(Set(statuses).subtracting([200, 503]), [], "\(statuses)")
        XCTAssertEqual(try studio.request("POST", "/api/render", json: body).status, 200, "serves again once the queue drains")
    }

    /// Posting many photos keeps memory bounded: the oldest is dropped and then answers 404.
    func testPhotoCacheIsBounded() throws {
        let (studio, first, _) = try studioWithStyles(["--photo-cache", "16"])
        defer { XCTAssertEqual(try? studio.stop().status, 0) }
        let folder = scratch + "/noise"
        for path in try noiseImages(count: 12, in: folder, prefix: "p", seed: 5, side: 400) {
            XCTAssertEqual(try studio.request("POST", "/api/photos", body: try bytes(path)).status, 201)
        }
        let stats = try studio.get("/api/stats").object
        XCTAssertLessThanOrEqual(stats["photo_cache_bytes"] as? Int ?? .max, 16 << 20)
        XCTAssertLessThan(stats["photos"] as? Int ?? .max, 13)
        let gone = try studio.request("POST", "/api/render", json: ["photo": first, "styles": [["name": "vangogh", "weight": 1]]])
        XCTAssertEqual(gone.status, 404)
        XCTAssertTrue(gone.error?.contains("upload it again") ?? false, "\(gone.status)")
    }

    func testServeStartsStopsAndRefusesCleanly() throws {
        let studio = try StudioProcess(["--library", library], scratch: scratch)
        XCTAssertEqual(studio.url, "http://127.0.0.1:\(studio.port)/")
        let page = try studio.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers["content-security-policy"]?.contains("default-src 'self'") ?? false)
        for asset in ["/studio.js", "/studio.css", "/favicon.svg"] { XCTAssertEqual(try studio.get(asset).status, 200, asset) }
        XCTAssertEqual((try studio.get("/api/styles").object["styles"] as? [[String: Any]])?.count, 0, "an empty library is an empty gallery")

        // A second server on the same port: one line, non-zero, no trap.
        let line = try fails(["serve", "--port", String(studio.port)])
        XCTAssertTrue(line.contains("cannot serve on 127.0.0.1:\(studio.port)"), line)

        let stopped = try studio.stop()
        XCTAssertEqual(stopped.status, 0, "Ctrl-C is a clean shutdown: \(stopped.summary)")
        XCTAssertFalse(stopped.signaled)
        XCTAssertTrue(stopped.stderr.contains("studio stopped"), stopped.stderr)

        for bad in [["--port", "70000"], ["--host", "0.0.0.0", "--token", "short"], ["--max-body", "0"], ["--max-queue", "0"]] {
            let l = try fails(["serve"] + bad)
            XCTAssertTrue(l.contains("--"), l)
        }
    }
}
