import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Bytes that are not HTTP (`GARBAGE`, a bad chunk size, binary noise) never reach a route:
/// NIO's parser fails and Hummingbird answers an empty 400. This channel handler answers them
/// as every other bad request is answered, with `{"error": "one line"}`, then closes the
/// connection. It answers between exchanges: when the bad bytes follow a request whose
/// response is still being written (pipelining), the answer waits for that response's end, so
/// the two never interleave.
final class MalformedRequestHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var requestsRead = 0
    private var requestsEnded = 0
    private var responsesEnded = 0
    private var responseStarted = false
    private var answerPending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: requestsRead += 1
        case .end: requestsEnded += 1
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responseStarted = true
        case .end: responseStarted = false; responsesEnded += 1
        case .body: break
        }
        context.write(data, promise: promise)
        if answerPending, !responseStarted, responsesEnded >= requestsRead { answer(context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Not a parse error, or one inside a request's body: the route reading that body gets
        // it and answers (`StudioContext.body`: "the request body could not be read").
        guard error is HTTPParserError, requestsEnded == requestsRead else {
            context.fireErrorCaught(error)
            return
        }
        if responseStarted || responsesEnded < requestsRead {
            answerPending = true  // after the response in progress (see `write`)
        } else {
            answer(context)
        }
    }

    private func answer(_ context: ChannelHandlerContext) {
        answerPending = false
        let body = ByteBuffer(bytes: Array(#"{"error":"the request is not valid HTTP/1.1"}"#.utf8))
        var head = HTTPResponse(status: .badRequest)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = "\(body.readableBytes)"
        head.headerFields[.connection] = "close"
        responseStarted = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
