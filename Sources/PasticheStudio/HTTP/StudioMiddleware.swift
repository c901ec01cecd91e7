import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Sets the request-body limit (`serve --max-body`) that `request.decode` and `collectBody`
/// enforce, and refuses a body declared larger before reading a byte of it.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = StudioContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw StudioError.tooLarge(limit)
        }
        var context = context
        context.maxUploadSize = limit
        return try await next(request, context)
    }
}

/// Every error a route throws answers as a `StudioError` (an `HTTPResponseError`: its status and
/// `{"error": "one line"}`): the router's own 404, the framework's HTTP errors and the engine's
/// and library's errors with the status that says whose fault it was. The server stays up
/// whatever a handler throws.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = StudioContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as HTTPError where e.status == .notFound {
            throw StudioError.notFound("no such endpoint: \(request.method) \(request.uri.path)")
        } catch let e as HTTPError {
            throw StudioError(e.status.code, e.body ?? e.status.reasonPhrase)
        } catch is NIOTooManyBytesError {
            throw StudioError(413, "the request body is too large")
        } catch {
            throw StudioError.from(error)
        }
    }
}

/// Who may talk to the studio. With a token (always, off loopback): the token in the query,
/// an `Authorization: Bearer` header or the cookie the page got, else 401. Without one: the
/// Host header must name a loopback address, so a web page cannot reach this server by
/// rebinding its own DNS name to 127.0.0.1. Either way, a state-changing request from a page
/// of another origin is refused (403), so no other site can add, rename or delete styles.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = StudioContext
    static let cookie = "pastiche_token"
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority = request.head.authority, !authority.isEmpty else {
            throw StudioError.badRequest("the request has no Host header")
        }
        if let token {
            let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let given = request.uri.queryParameters.get("token") ?? bearer ?? request.cookies[Self.cookie]?.value
            guard let given, Self.constantTimeEqual(given, token) else {
                throw StudioError(401, "this studio needs its token: open the URL that `pastiche serve` printed")
            }
        } else {
            let host = Self.hostName(authority)
            guard StudioConfiguration.isLoopback(host) else {
                throw StudioError(403, "requests must name a loopback host (got '\(authority)'); serve with --host and a token for other hosts")
            }
        }
        if request.method != .get && request.method != .head, let origin = request.headers[.origin],
           origin != "http://\(authority)" {
            throw StudioError(403, "cross-origin request refused (Origin \(origin))")
        }
        return try await next(request, context)
    }

    /// "127.0.0.1:8750" → "127.0.0.1", "[::1]:8750" → "::1".
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
