import { Prng } from '../prng.js';

interface Node {
  /** The tokens on the edge from the parent. */
  edge: Int32Array;
  children: Map<number, Node>;
  parent: Node | undefined;
  /** Hosts whose sent requests pass through this node, with the last time they did. */
  tenants: Map<number, number>;
  /** Orders the tenants as a hash map would: arbitrarily, but the same way each time. */
  salt: number;
}

function shared(a: Int32Array, aFrom: number, b: Int32Array, bFrom: number): number {
  const n = Math.min(a.length - aFrom, b.length - bFrom);
  let i = 0;
  while (i < n && a[aFrom + i] === b[bFrom + i]) i++;
  return i;
}

function rank(salt: number, tenant: number): number {
  let h = Math.imul(salt ^ (tenant + 0x9e3779b9), 0x85ebca6b);
  h ^= h >>> 13;
  return Math.imul(h, 0xc2b2ae35) >>> 0;
}

/**
 * SGLang's approximate tree: one radix tree per model over the requests the router sent, each node tagged
 * with the hosts it went to. Token-level here (SGLang's HTTP router walks characters; the routing is the same).
 */
export class TenantRadixTree {
  private readonly root: Node;
  private readonly random: Prng;
  /** Tokens each host holds in the tree, the size its eviction and "smallest tree" look at. */
  readonly sizes: number[];

  constructor(hostCount: number, seed: number) {
    this.random = new Prng(seed);
    this.root = this.node(new Int32Array(0), undefined);
    this.sizes = new Array<number>(hostCount).fill(0);
  }

  private node(edge: Int32Array, parent: Node | undefined): Node {
    return {
      edge,
      children: new Map(),
      parent,
      tenants: new Map(),
      salt: (this.random.next() * 2 ** 32) >>> 0,
    };
  }

  /**
   * The longest prefix of `tokens` in the tree, and the hosts holding its deepest node, in the order its
   * tenant map yields them (arbitrary, but fixed per node, as a hash map's).
   */
  match(tokens: Int32Array): { matched: number; holders: number[] } {
    let current = this.root;
    let at = 0;
    while (at < tokens.length) {
      const child = current.children.get(tokens[at] as number);
      if (child === undefined) break;
      const length = shared(child.edge, 0, tokens, at);
      at += length;
      current = child;
      if (length < child.edge.length) break;
    }
    if (at === 0) return { matched: 0, holders: [] };
    const holders = [...current.tenants.keys()];
    holders.sort((a, b) => rank(current.salt, a) - rank(current.salt, b));
    return { matched: at, holders };
  }

  insert(tokens: Int32Array, host: number, now: number): void {
    let current = this.root;
    this.touch(current, host, now);
    let at = 0;
    while (at < tokens.length) {
      const first = tokens[at] as number;
      const child = current.children.get(first);
      if (child === undefined) {
        const leaf = this.node(tokens.subarray(at), current);
        current.children.set(first, leaf);
        this.touch(leaf, host, now);
        return;
      }
      const length = shared(child.edge, 0, tokens, at);
      if (length < child.edge.length) this.split(child, length);
      const next = current.children.get(first) as Node;
      this.touch(next, host, now);
      at += length;
      current = next;
    }
  }

  /** Cuts `child`'s edge after `length` tokens; both halves keep its tenants, so no size changes. */
  private split(child: Node, length: number): void {
    const parent = child.parent as Node;
    const head = this.node(child.edge.subarray(0, length), parent);
    head.tenants = new Map(child.tenants);
    child.edge = child.edge.subarray(length);
    child.parent = head;
    head.children.set(child.edge[0] as number, child);
    parent.children.set(head.edge[0] as number, head);
  }

  private touch(node: Node, host: number, now: number): void {
    if (!node.tenants.has(host)) this.sizes[host] = (this.sizes[host] ?? 0) + node.edge.length;
    node.tenants.set(host, now);
  }

  /** SGLang's periodic eviction: a host's least recently used leaves go until it is within `limit` tokens. */
  evict(limit: number): void {
    for (let host = 0; host < this.sizes.length; host++) {
      while ((this.sizes[host] ?? 0) > limit) {
        const leaves: Node[] = [];
        this.collectLeaves(this.root, host, leaves);
        if (leaves.length === 0) break;
        leaves.sort((a, b) => (a.tenants.get(host) ?? 0) - (b.tenants.get(host) ?? 0));
        for (const leaf of leaves) {
          if ((this.sizes[host] ?? 0) <= limit) break;
          leaf.tenants.delete(host);
          this.sizes[host] = (this.sizes[host] ?? 0) - leaf.edge.length;
          if (leaf.tenants.size === 0 && leaf.parent !== undefined) {
            leaf.parent.children.delete(leaf.edge[0] as number);
          }
        }
      }
    }
  }

  private collectLeaves(node: Node, host: number, into: Node[]): void {
    let childHolds = false;
    for (const child of node.children.values()) {
      if (child.tenants.has(host)) {
        childHolds = true;
        this.collectLeaves(child, host, into);
      }
    }
    if (!childHolds && node !== this.root && node.tenants.has(host)) into.push(node);
  }
}
