// subscribe.mjs is a stock js-libp2p node (TCP, Noise, Yamux, identify,
// GossipSub) that dials a Hearth node, subscribes to one topic and prints
// each message it receives as a JSON line on stdout:
//
//	node subscribe.mjs <multiaddr of the hearth node> <topic> [timeout ms]
//
// It knows nothing of Hearth beyond the topic name: that is the point.

// js-libp2p uses Promise.withResolvers, which Node gained in v22.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
const { multiaddr } = await import('@multiformats/multiaddr')

const [addr, topic, timeoutArg] = process.argv.slice(2)
if (!addr || !topic) {
  console.error('usage: node subscribe.mjs <multiaddr> <topic> [timeout ms]')
  process.exit(2)
}

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    pubsub: gossipsub({ emitSelf: false, allowPublishToZeroTopicPeers: true })
  }
})

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

node.services.pubsub.addEventListener('message', (evt) => {
  const m = evt.detail
  if (m.topic !== topic) return
  out({ type: 'message', topic: m.topic, from: m.from?.toString(), data: Buffer.from(m.data).toString('base64') })
})
node.services.pubsub.subscribe(topic)
await node.dial(multiaddr(addr))
out({ type: 'ready', peer: node.peerId.toString() })

const stop = async (code) => {
  await node.stop().catch(() => {})
  process.exit(code)
}
setTimeout(() => stop(0), Number(timeoutArg || 60000))
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))
