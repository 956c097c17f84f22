/*
 * A stand-in libnvidia-ml.so.1 for tests: the NVML entry points the tokenwatt meter binds, driven by
 * a scripted power trace so the energy counter is its exact integral. Written from scratch against
 * the documented signatures (nvml.h, NVML API 13); no NVIDIA code.
 *
 * Environment (read at nvmlInit_v2):
 *   STUB_NVML_GPUS         number of GPUs (default 1)
 *   STUB_NVML_T0_MS        wall-clock Unix ms of trace time 0 (default: the init time)
 *   STUB_NVML_TRACE        piecewise-constant trace "t0:w0,t1:w1,..." (seconds from T0 : watts);
 *                          GPU i draws trace × (1 + i/10)
 *   STUB_NVML_BASE_MJ      counter value at trace time 0 (default 123456789)
 *   STUB_NVML_RESET_AT     trace time (s) of a driver reload: the counter restarts from 0
 *   STUB_NVML_NO_ENERGY    1: TotalEnergyConsumption answers NOT_SUPPORTED
 *   STUB_NVML_NO_INSTANT   1: field POWER_INSTANT answers NOT_SUPPORTED
 *   STUB_NVML_INIT_ERROR   nvmlReturn_t for nvmlInit_v2 to fail with
 *   STUB_NVML_LOST_AT      trace time (s) after which every device call answers GPU_IS_LOST
 *   STUB_NVML_LIMIT_MW     enforced power limit (default 700000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_GPUS 16
#define MAX_STEPS 256

typedef struct nvmlDevice_st { int index; } *nvmlDevice_t;
typedef union { double dVal; int siVal; unsigned int uiVal; unsigned long ulVal; unsigned long long ullVal; long long sllVal; unsigned short usVal; } nvmlValue_t;
typedef struct {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  int nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;

static struct nvmlDevice_st devices[MAX_GPUS];
static int gpu_count = 1;
static int init_count = 0;
static double t0_ms;
static double step_t[MAX_STEPS], step_w[MAX_STEPS];
static int steps = 0;
static double base_mj = 123456789.0;
static double reset_at = -1, lost_at = -1;
static int no_energy = 0, no_instant = 0;
static unsigned int limit_mw = 700000;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static double env_num(const char *name, double dflt) {
  const char *v = getenv(name);
  return v && *v ? atof(v) : dflt;
}
static double trace_t(void) { return (now_ms() - t0_ms) / 1e3; }

/* Power (W) of the trace at time t; before the first step, the first value. */
static double trace_w(double t) {
  double w = steps > 0 ? step_w[0] : 0;
  for (int i = 0; i < steps && step_t[i] <= t; i++) w = step_w[i];
  return w;
}
/* Integral of the trace (J) from 0 to t (negative when t < 0). */
static double trace_j(double t) {
  double j = 0, from = 0, w = trace_w(0);
  if (t < 0) return trace_w(t) * t;
  for (int i = 0; i < steps; i++) {
    if (step_t[i] <= 0) continue;
    if (step_t[i] >= t) break;
    j += w * (step_t[i] - from);
    from = step_t[i];
    w = step_w[i];
  }
  return j + w * (t - from);
}
static double scale(nvmlDevice_t d) { return 1.0 + d->index / 10.0; }
static int lost(void) { return lost_at >= 0 && trace_t() >= lost_at; }

int nvmlInit_v2(void) {
  int err = (int)env_num("STUB_NVML_INIT_ERROR", 0);
  if (err) return err;
  if (init_count++ > 0) return 0;
  gpu_count = (int)env_num("STUB_NVML_GPUS", 1);
  if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS;
  for (int i = 0; i < MAX_GPUS; i++) devices[i].index = i;
  t0_ms = env_num("STUB_NVML_T0_MS", now_ms());
  base_mj = env_num("STUB_NVML_BASE_MJ", 123456789.0);
  reset_at = env_num("STUB_NVML_RESET_AT", -1);
  lost_at = env_num("STUB_NVML_LOST_AT", -1);
  no_energy = (int)env_num("STUB_NVML_NO_ENERGY", 0);
  no_instant = (int)env_num("STUB_NVML_NO_INSTANT", 0);
  limit_mw = (unsigned int)env_num("STUB_NVML_LIMIT_MW", 700000);
  steps = 0;
  const char *tr = getenv("STUB_NVML_TRACE");
  if (!tr || !*tr) tr = "0:300";
  char *copy = strdup(tr), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok && steps < MAX_STEPS; tok = strtok_r(NULL, ",", &save)) {
    double t, w;
    if (sscanf(tok, "%lf:%lf", &t, &w) == 2) { step_t[steps] = t; step_w[steps] = w; steps++; }
  }
  free(copy);
  return 0;
}
int nvmlShutdown(void) {
  if (init_count == 0) return 1; /* UNINITIALIZED */
  init_count--;
  return 0;
}
const char *nvmlErrorString(int r) {
  switch (r) {
    case 0: return "Success";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 9: return "Driver Not Loaded";
    case 15: return "GPU is lost";
    case 18: return "RM has detected an NVML/RM version mismatch";
    default: return "Unknown Error";
  }
}
int nvmlDeviceGetCount_v2(unsigned int *n) {
  if (!init_count) return 1;
  *n = gpu_count;
  return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d) {
  if (!init_count) return 1;
  if ((int)i >= gpu_count) return 2;
  *d = &devices[i];
  return 0;
}
int nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int len) {
  snprintf(name, len, "NVIDIA H100 80GB HBM3 (stub %d)", d->index);
  return 0;
}
int nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int len) {
  snprintf(uuid, len, "GPU-5eb0c0de-0000-4000-8000-%012d", d->index);
  return 0;
}
static double energy_mj(nvmlDevice_t d, double t) {
  if (reset_at >= 0 && t >= reset_at) return (trace_j(t) - trace_j(reset_at)) * scale(d) * 1e3;
  return base_mj + trace_j(t) * scale(d) * 1e3;
}
int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj) {
  if (!init_count) return 1;
  if (lost()) return 15;
  if (no_energy) return 3;
  *mj = (unsigned long long)energy_mj(d, trace_t());
  return 0;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) {
  if (lost()) return 15;
  double t = trace_t();
  *mw = (unsigned int)((trace_j(t) - trace_j(t - 1)) * scale(d) * 1e3); /* 1-s average, as on Ampere+ */
  return 0;
}
int nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *mw) {
  (void)d;
  *mw = limit_mw;
  return 0;
}
int nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, nvmlFieldValue_t *v) {
  if (!init_count) return 1;
  double t = trace_t(), now = now_ms();
  for (int i = 0; i < n; i++) {
    v[i].timestamp = (long long)(now * 1e3);
    v[i].latencyUsec = 0;
    v[i].nvmlReturn = 0;
    if (lost()) { v[i].nvmlReturn = 15; continue; }
    switch (v[i].fieldId) {
      case 186: /* POWER_INSTANT, mW */
        if (no_instant) { v[i].nvmlReturn = 3; break; }
        v[i].valueType = 1; v[i].value.uiVal = (unsigned int)(trace_w(t) * scale(d) * 1e3); break;
      case 185: /* POWER_AVERAGE, mW */
        v[i].valueType = 1; v[i].value.uiVal = (unsigned int)((trace_j(t) - trace_j(t - 1)) * scale(d) * 1e3); break;
      case 83: case 191: /* energy, mJ */
        if (no_energy) { v[i].nvmlReturn = 3; break; }
        v[i].valueType = 3; v[i].value.ullVal = (unsigned long long)energy_mj(d, t); break;
      case 190:
        v[i].valueType = 1; v[i].value.uiVal = limit_mw; break;
      default:
        v[i].nvmlReturn = 3;
    }
  }
  return 0;
}
