// An ES module in a .js file (Node 20.19+/22 load it through require(esm); older Nodes refuse it).
export function hello() {
  return 'hello from esm';
}
