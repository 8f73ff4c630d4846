// meta.js - what the server enforces, read once from GET /v1/meta (docs/api.md): topics, the policy's categories in words, template purposes, the limits on text and attachments.
import { get } from './api.js';

let meta = null;
let metaFor = null; // the marketplace whose limits meta holds ('' for the defaults)
let loading = null;

/** Reads /v1/meta once per marketplace (the limits are that marketplace's); app.js renders a view only after it. */
export async function loadMeta(marketplace) {
  const key = marketplace || '';
  if (meta && metaFor === key) return meta;
  if (!loading) {
    const path = key ? `/v1/meta?marketplace=${encodeURIComponent(key)}` : '/v1/meta';
    loading = get(path).then((m) => { meta = m; metaFor = key; return m; }).finally(() => { loading = null; });
  }
  return loading;
}

/** The topics a buyer picks from as [id, label] pairs: kind 'post_purchase' (an order) or 'pre_purchase' (a product). */
export function topics(kind) {
  return meta ? meta.topics[kind].map((t) => [t.id, t.label]) : [];
}

/** A policy category's words {id, label, hint}, or undefined. */
export function policyCategory(id) {
  return meta ? meta.policy_categories.find((c) => c.id === id) : undefined;
}

/** The purposes of a template as {id, label, may_be_critical}, in the server's order. */
export function templatePurposes() {
  return meta ? meta.template_purposes : [];
}

/** The limits on text and attachments: text_chars, attachments_per_message, attachment_bytes, attachment_extensions. */
export function limits() {
  return meta.limits;
}
