#ifndef FW_VERSION_H
#define FW_VERSION_H
#define FLYWHEEL_VERSION "0.1.0"
#endif
