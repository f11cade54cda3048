// Preact with htm: components are plain functions returning html`…` templates (no build step).
import { Fragment, createContext, h, render } from "preact";
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);
export {
  Fragment,
  createContext,
  h,
  render,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
};
