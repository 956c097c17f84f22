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
 *
 * Shared device state (the knob/sweep contract): when TOKENWATT_SIM_DEVICE_STATE names a file, every
 * call re-reads it (plain text, one key=value a line; missing keys keep their defaults) and every
 * setter rewrites it atomically (temp file + rename), so a cap set here is seen by another process
 * (the mock engine's device model) and the power it writes is what the meter reads. Keys:
 *   power_limit_mw, power_limit_default_mw, power_limit_min_mw, power_limit_max_mw,
 *   locked_sm_clock_mhz (0 = not locked), sm_clock_max_mhz; and in <file>.telemetry, written only by
 *   the mock: power_mw, energy_mj, throttle_power_ns (cumulative ns at the power cap)
 * The limit setter rejects a value outside [min, max] with INVALID_ARGUMENT (2), as NVML does; setters answer NO_PERMISSION (4)
 * when TOKENWATT_SIM_NO_PERMISSION=1. The workload power profile API is deliberately not exported
 * (as on drivers before R570), so that path of the knob is exercised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
/* From the shared device state file when TOKENWATT_SIM_DEVICE_STATE is set (defined at the end). */
static int sim_power_mw(double *mw);
static int sim_energy_mj(double *mj);
static unsigned int sim_limit_mw(void);

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
  double sim;
  *mj = sim_energy_mj(&sim) ? (unsigned long long)sim : (unsigned long long)energy_mj(d, trace_t());
  return 0;
}
int nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) {
  if (lost()) return 15;
  double t = trace_t(), sim;
  if (sim_power_mw(&sim)) { *mw = (unsigned int)sim; return 0; }
  *mw = (unsigned int)((trace_j(t) - trace_j(t - 1)) * scale(d) * 1e3); /* 1-s average, as on Ampere+ */
  return 0;
}
int nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t d, unsigned int *mw) {
  (void)d;
  *mw = sim_limit_mw();
  return 0;
}
int nvmlDeviceGetFieldValues(nvmlDevice_t d, int n, nvmlFieldValue_t *v) {
  if (!init_count) return 1;
  double t = trace_t(), now = now_ms(), sim_p = 0, sim_e = 0;
  int has_p = sim_power_mw(&sim_p), has_e = sim_energy_mj(&sim_e);
  for (int i = 0; i < n; i++) {
    v[i].timestamp = (long long)(now * 1e3);
    v[i].latencyUsec = 0;
    v[i].nvmlReturn = 0;
    if (lost()) { v[i].nvmlReturn = 15; continue; }
    switch (v[i].fieldId) {
      case 186: /* POWER_INSTANT, mW */
        if (no_instant) { v[i].nvmlReturn = 3; break; }
        v[i].valueType = 1; v[i].value.uiVal = has_p ? (unsigned int)sim_p : (unsigned int)(trace_w(t) * scale(d) * 1e3); break;
      case 185: /* POWER_AVERAGE, mW */
        v[i].valueType = 1; v[i].value.uiVal = has_p ? (unsigned int)sim_p : (unsigned int)((trace_j(t) - trace_j(t - 1)) * scale(d) * 1e3); break;
      case 83: case 191: /* energy, mJ */
        if (no_energy) { v[i].nvmlReturn = 3; break; }
        v[i].valueType = 3; v[i].value.ullVal = has_e ? (unsigned long long)sim_e : (unsigned long long)energy_mj(d, t); break;
      case 190:
        v[i].valueType = 1; v[i].value.uiVal = sim_limit_mw(); break;
      default:
        v[i].nvmlReturn = 3;
    }
  }
  return 0;
}

/* ---- shared device state file (knobs) ---- */

#define STATE_KEYS 9
static const char *state_names[STATE_KEYS] = {"power_limit_mw", "power_limit_default_mw", "power_limit_min_mw", "power_limit_max_mw", "locked_sm_clock_mhz", "sm_clock_max_mhz", "power_mw", "energy_mj", "throttle_power_ns"};
enum { S_LIMIT, S_DEFAULT, S_MIN, S_MAX, S_LOCKED, S_SMMAX, S_POWER, S_ENERGY, S_THROTTLE };
typedef struct { double v[STATE_KEYS]; int has[STATE_KEYS]; char extra[4096]; } sim_state;

static const char *state_path(void) {
  const char *p = getenv("TOKENWATT_SIM_DEVICE_STATE");
  return p && *p ? p : NULL;
}
/* One state file's lines into s; unknown lines are kept (in extra) when keep_extra is set. */
static void state_read_file(sim_state *s, const char *p, int keep_extra) {
  FILE *f = fopen(p, "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    int known = 0;
    for (int k = 0; k < STATE_KEYS; k++)
      if (strcmp(line, state_names[k]) == 0) { s->v[k] = atof(eq + 1); s->has[k] = 1; known = 1; }
    if (!known && keep_extra && strlen(s->extra) + strlen(line) + strlen(eq + 1) + 3 < sizeof s->extra) {
      strcat(s->extra, line); strcat(s->extra, "="); strcat(s->extra, eq + 1);
      if (s->extra[strlen(s->extra) - 1] != '\n') strcat(s->extra, "\n");
    }
  }
  fclose(f);
}
/* The device's telemetry (power, energy, throttle) lives beside the controls file in
   <path>.telemetry, written only by the mock, so a setter here never rewrites it (nor it the cap). */
static int is_telemetry(int k) { return k == S_POWER || k == S_ENERGY || k == S_THROTTLE; }
/* Reads the controls file then the telemetry file (defaults first); unknown control lines are kept
   so a rewrite does not drop them. */
static void state_read(sim_state *s) {
  memset(s, 0, sizeof *s);
  s->v[S_LIMIT] = limit_mw; s->v[S_DEFAULT] = 700000; s->v[S_MIN] = 100000; s->v[S_MAX] = 700000;
  s->v[S_SMMAX] = 1980;
  const char *p = state_path();
  if (!p) return;
  state_read_file(s, p, 1);
  char tel[4200];
  snprintf(tel, sizeof tel, "%s.telemetry", p);
  state_read_file(s, tel, 0);
}
/* Rewrites the controls file (never the telemetry keys) atomically: temp file + rename. */
static int state_write(const sim_state *s) {
  const char *p = state_path();
  if (!p) return 0;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", p, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return 999;
  for (int k = 0; k < STATE_KEYS; k++)
    if (s->has[k] && !is_telemetry(k)) fprintf(f, "%s=%.0f\n", state_names[k], s->v[k]);
  fputs(s->extra, f);
  fflush(f);
  fsync(fileno(f));
  fclose(f);
  return rename(tmp, p) == 0 ? 0 : 999;
}
static int no_permission(void) {
  const char *v = getenv("TOKENWATT_SIM_NO_PERMISSION");
  return v && strcmp(v, "1") == 0;
}

int nvmlDeviceGetPowerManagementLimit(nvmlDevice_t d, unsigned int *mw) {
  (void)d;
  if (!init_count) return 1;
  sim_state s; state_read(&s);
  *mw = (unsigned int)s.v[S_LIMIT];
  return 0;
}
int nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t d, unsigned int *min_mw, unsigned int *max_mw) {
  (void)d;
  if (!init_count) return 1;
  sim_state s; state_read(&s);
  *min_mw = (unsigned int)s.v[S_MIN]; *max_mw = (unsigned int)s.v[S_MAX];
  return 0;
}
int nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t d, unsigned int *mw) {
  (void)d;
  if (!init_count) return 1;
  sim_state s; state_read(&s);
  *mw = (unsigned int)s.v[S_DEFAULT];
  return 0;
}
int nvmlDeviceSetPowerManagementLimit(nvmlDevice_t d, unsigned int mw) {
  (void)d;
  if (!init_count) return 1;
  if (no_permission()) return 4;
  sim_state s; state_read(&s);
  double v = mw;
  /* real NVML rejects a limit outside the constraints (NVML_ERROR_INVALID_ARGUMENT) */
  if (v < s.v[S_MIN] || v > s.v[S_MAX]) return 2;
  s.v[S_LIMIT] = v; s.has[S_LIMIT] = 1;
  limit_mw = (unsigned int)v;
  return state_write(&s);
}
int nvmlDeviceSetGpuLockedClocks(nvmlDevice_t d, unsigned int min_mhz, unsigned int max_mhz) {
  (void)d;
  if (!init_count) return 1;
  if (no_permission()) return 4;
  if (min_mhz > max_mhz) return 2;
  sim_state s; state_read(&s);
  double v = max_mhz > s.v[S_SMMAX] ? s.v[S_SMMAX] : max_mhz;
  s.v[S_LOCKED] = v; s.has[S_LOCKED] = 1;
  return state_write(&s);
}
int nvmlDeviceResetGpuLockedClocks(nvmlDevice_t d) {
  (void)d;
  if (!init_count) return 1;
  if (no_permission()) return 4;
  sim_state s; state_read(&s);
  s.v[S_LOCKED] = 0; s.has[S_LOCKED] = 1;
  return state_write(&s);
}
/* nvmlClockType_t: 0 GRAPHICS, 1 SM, 2 MEM, 3 VIDEO */
int nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *mhz) {
  (void)d;
  if (!init_count) return 1;
  if (type != 0 && type != 1) return 3;
  sim_state s; state_read(&s);
  *mhz = (unsigned int)(s.v[S_LOCKED] > 0 ? s.v[S_LOCKED] : s.v[S_SMMAX]);
  return 0;
}
int nvmlDeviceGetMaxClockInfo(nvmlDevice_t d, int type, unsigned int *mhz) {
  (void)d;
  if (!init_count) return 1;
  if (type != 0 && type != 1) return 3;
  sim_state s; state_read(&s);
  *mhz = (unsigned int)s.v[S_SMMAX];
  return 0;
}
/* Bit 0x4 (SW power cap) while the drawn power sits at the limit. */
int nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t d, unsigned long long *reasons) {
  (void)d;
  if (!init_count) return 1;
  sim_state s; state_read(&s);
  *reasons = (s.has[S_POWER] && s.v[S_POWER] >= 0.99 * s.v[S_LIMIT]) ? 0x4ULL : 0x1ULL; /* 0x1: GPU idle */
  return 0;
}
typedef struct { unsigned long long referenceTime; unsigned long long violationTime; } nvmlViolationTime_t;
/* nvmlPerfPolicyType_t 0 = NVML_PERF_POLICY_POWER */
int nvmlDeviceGetViolationStatus(nvmlDevice_t d, int policy, nvmlViolationTime_t *v) {
  (void)d;
  if (!init_count) return 1;
  if (policy != 0) return 3;
  sim_state s; state_read(&s);
  v->referenceTime = (unsigned long long)(now_ms() * 1e3);
  v->violationTime = (unsigned long long)s.v[S_THROTTLE];
  return 0;
}

static int sim_power_mw(double *mw) {
  if (!state_path()) return 0;
  sim_state s; state_read(&s);
  *mw = s.v[S_POWER];
  return s.has[S_POWER];
}
static int sim_energy_mj(double *mj) {
  if (!state_path()) return 0;
  sim_state s; state_read(&s);
  *mj = s.v[S_ENERGY];
  return s.has[S_ENERGY];
}
static unsigned int sim_limit_mw(void) {
  if (!state_path()) return limit_mw;
  sim_state s; state_read(&s);
  return (unsigned int)s.v[S_LIMIT];
}
