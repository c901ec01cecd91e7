import XCTest
@testable import PasticheStudio

/// Who may talk to the studio: the Host header's name, the loopback rule and the token check.
final class AccessTests: XCTestCase {
    func testHostNameDropsThePortAndIPv6Brackets() {
        XCTAssertEqual(AccessMiddleware.hostName("127.0.0.1:8750"), "127.0.0.1")
        XCTAssertEqual(AccessMiddleware.hostName("[::1]:8750"), "::1")
        XCTAssertEqual(AccessMiddleware.hostName("[::1]"), "::1")
        XCTAssertEqual(AccessMiddleware.hostName("localhost"), "localhost")
        XCTAssertEqual(AccessMiddleware.hostName("localhost:80"), "localhost")
        XCTAssertEqual(AccessMiddleware.hostName("evil.example:8750"), "evil.example")
    }

    func testLoopbackHosts() {
        for host in ["127.0.0.1", "127.1.2.3", "127.255.255.255", "localhost", "LocalHost", "::1", "[::1]"] {
            XCTAssertTrue(StudioConfiguration.isLoopback(host), host)
        }
        for host in ["0.0.0.0", "128.0.0.1", "10.0.0.1", "127.0.0", "127.0.0.256", "127.0.0.1.evil.example",
                     "127.0.0.1:8750", "evil.example", "::2", ""] {
            XCTAssertFalse(StudioConfiguration.isLoopback(host), host)
        }
    }

    /// A rebinding page's Host header never counts as loopback, whatever its port.
    func testHostHeadersThroughBothChecks() {
        XCTAssertTrue(StudioConfiguration.isLoopback(AccessMiddleware.hostName("[::1]:8750")))
        XCTAssertTrue(StudioConfiguration.isLoopback(AccessMiddleware.hostName("127.0.0.1:8750")))
        XCTAssertFalse(StudioConfiguration.isLoopback(AccessMiddleware.hostName("attacker.example:8750")))
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(AccessMiddleware.constantTimeEqual("s3cret-token", "s3cret-token"))
        XCTAssertTrue(AccessMiddleware.constantTimeEqual("", ""))
        XCTAssertFalse(AccessMiddleware.constantTimeEqual("s3cret-token", "s3cret-tokem"))
        XCTAssertFalse(AccessMiddleware.constantTimeEqual("s3cret-token", "S3cret-token"))
        XCTAssertFalse(AccessMiddleware.constantTimeEqual("s3cret", "s3cret-token"), "a prefix is not the token")
        XCTAssertFalse(AccessMiddleware.constantTimeEqual("", "x"))
        XCTAssertFalse(AccessMiddleware.constantTimeEqual("é", "e\u{301}"), "compared as bytes, not as Unicode text")
    }

    func testDefaultsServeLoopbackOnly() {
        let c = StudioConfiguration()
        XCTAssertTrue(StudioConfiguration.isLoopback(c.host))
        XCTAssertNil(c.token)
        XCTAssertGreaterThan(c.maxQueuedJobs, 0)
    }
}
