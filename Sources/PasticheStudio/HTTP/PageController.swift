import HTTPTypes
import Hummingbird
import NIOCore

/// The page: `/` is index.html, every other file of the page is served by its name from the
/// fixed table `WebAssets` read at start-up (never a path from the request).
struct PageController {
    let assets: WebAssets
    let token: String?

    func addRoutes(to router: Router<StudioContext>) {
        for (name, asset) in assets.assets {
            router.get(RouterPath(name == "index.html" ? "/" : "/\(name)")) { request, _ in
                page(asset, isIndex: name == "index.html", request: request)
            }
        }
    }

    func page(_ asset: WebAssets.Asset, isIndex: Bool, request: Request) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = asset.contentType
        headers[.cacheControl] = "no-cache"
        headers[.xContentTypeOptions] = "nosniff"
        if isIndex {
            // The page runs only its own scripts and talks only to this server.
            headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
            if let token, request.uri.queryParameters.get("token") == token {
                // Jupyter-style: the printed URL carries the token once; the cookie carries it after.
                headers[.setCookie] = "\(AccessMiddleware.cookie)=\(token); HttpOnly; SameSite=Strict; Path=/"
            }
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
