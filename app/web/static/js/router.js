// Hash routing: "#/organizations/acme?range=30d". Filters live in the hash, so every view is
// a link that can be shared or reloaded.
import { useEffect, useState } from "./lib.js";

export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = at < 0 ? "" : raw.slice(at + 1);
  return {
    path,
    segments: path.split("/").filter(Boolean).map(decodeURIComponent),
    params: Object.fromEntries(new URLSearchParams(query)),
  };
}

export function href(path, params = {}) {
  const kept = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== "");
  const query = new URLSearchParams(kept).toString();
  return `#${path}${query ? `?${query}` : ""}`;
}

export function navigate(path, params = {}) {
  window.location.hash = href(path, params).slice(1);
}

/** The same view with some of its parameters changed (null removes one). */
export function setParams(route, patch) {
  navigate(route.path, { ...route.params, ...patch });
}

export function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const onChange = () => setRoute(parseHash());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
