// matmul variant: one invocation per output element, the plain triple loop with run-time strides
// (every layout, one pipeline). The benchmark's yardstick ("ratio to naive") and the simplest
// thing to trust; not chosen for speed.

import { matmulHeader, type MatmulVariantInfo } from './matmul_common.js';

const WX = 16;
const WY = 4;

function wgsl(): string {
  return `${matmulHeader(false)}
@compute @workgroup_size(${WX}, ${WY})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wg: vec3u) {
  let row = dims.m0 + gid.y;
  let col = gid.x;
  if (row >= dims.M || col >= dims.N) { return; }
  let z = dims.z0 + wg.z;
  var pa = z * dims.strideA + row * dims.aRow;
  var pb = z * dims.strideB + col * dims.bCol;
  var s = 0.0;
  for (var k = 0u; k < dims.K; k++) {
    s += a[pa] * b[pb];
    pa += dims.aK; pb += dims.bK;
  }
  store_out(z * dims.strideOut, row, col, s);
}
`;
}

export const MATMUL_NAIVE: MatmulVariantInfo = {
  tileM: WY,
  tileN: WX,
  wgsl,
  requires: [],
  supportsBVec4: false,
  transBInKernel: true,
};
